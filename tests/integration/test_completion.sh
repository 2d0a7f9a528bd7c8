#!/bin/sh
# witnessctl's bash completion (completion/witnessctl): `cmake --install`
# puts it where bash-completion looks (share/bash-completion/completions),
# and with Debian's bash-completion loaded it completes commands,
# subcommands and each command's own options.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${WITNESSD_BUILD:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/p" >"$tmp/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$tmp/install.log")"
f="$tmp/p/share/bash-completion/completions/witnessctl"
[ -f "$f" ] || fail "not installed: $f"
[ -f /usr/share/bash-completion/bash_completion ] || { echo "skip: no bash-completion"; exit 0; }

# complete WORDS...: what bash would offer for the last word
complete_words() {
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$0"
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_witnessctl witnessctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' "$f" "$@"
}

got=$(complete_words witnessctl "" | tr '\n' ' ')
for c in status metrics doctor ip list client-move share-move force-unregister force-response drain peers user; do
	case " $got " in *" $c "*) ;; *) fail "commands: no $c in: $got" ;; esac
done
[ "$(complete_words witnessctl ip "" | tr "\n" " ")" = "list reset set " ] || fail "ip subcommands"
[ "$(complete_words witnessctl user "" | tr '\n' ' ')" = "add del list " ] || fail "user subcommands"
[ "$(complete_words witnessctl drain 1 --w | tr '\n' ' ')" = "--wait " ] || fail "drain --wait"
[ "$(complete_words witnessctl client-move --new- | tr '\n' ' ')" = "--new-ip --new-node " ] || fail "client-move --new-*"
case " $(complete_words witnessctl list --n | tr '\n' ' ') " in *" --net-name "*) ;; *) fail "list selectors" ;; esac
[ -z "$(complete_words witnessctl list --new | tr -d '\n')" ] || fail "list offers move options"
case " $(complete_words witnessctl --j | tr '\n' ' ') " in *" --json "*) ;; *) fail "global --json" ;; esac
[ "$(complete_words witnessctl doctor --sh | tr '\n' ' ')" = "--share " ] || fail "doctor --share"
echo "completion: ok"
