# Runs at install time (cmake --install, make install), so that the paths in
# the unit follow the prefix given then (cmake --install build --prefix /usr)
# and not only the one given at configure time. Set by CMakeLists.txt:
# _wd_src (source dir), _wd_bin (binary dir), _wd_sbindir, _wd_datadir
# (relative GNUInstallDirs names), _wd_unitdir (empty: derived here).
#
#   prefix      binaries          config                         unit
#   /usr        /usr/sbin         /etc/witnessd/witnessd.conf    /lib/systemd/system
#   /usr/local  /usr/local/sbin   /usr/local/etc/witnessd/...    /usr/local/lib/systemd/system
set(_p "${CMAKE_INSTALL_PREFIX}")
if(_p STREQUAL "/usr")
  set(_confdir "/etc/witnessd")
  set(_unitdir "/lib/systemd/system") # Debian 12: dh_installsystemd and lintian expect it here
else()
  set(_confdir "${_p}/etc/witnessd")
  set(_unitdir "${_p}/lib/systemd/system") # systemd also reads /usr/local/lib/systemd/system
endif()
if(_wd_unitdir)
  set(_unitdir "${_wd_unitdir}")
endif()
set(WITNESSD_SBINDIR "${_p}/${_wd_sbindir}")
set(WITNESSD_CONFIG "${_confdir}/witnessd.conf")
set(WITNESSD_DOCDIR "${_p}/${_wd_datadir}/doc/witnessd")

configure_file("${_wd_src}/systemd/witnessd.service.in" "${_wd_bin}/systemd/witnessd.service" @ONLY)
file(INSTALL "${_wd_bin}/systemd/witnessd.service" DESTINATION "${_unitdir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# The example config becomes the config only where none exists, so that a
# reinstall never overwrites an administrator's edits. file(INSTALL) adds
# $DESTDIR itself.
if(NOT EXISTS "$ENV{DESTDIR}${WITNESSD_CONFIG}")
  file(INSTALL "${_wd_src}/etc/witnessd.conf" DESTINATION "${_confdir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
