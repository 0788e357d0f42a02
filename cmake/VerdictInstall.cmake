# Installation layout and the Debian package (issue #11). Included from the top CMakeLists.txt.
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   cmake --install build [--prefix DIR]      # or: (cd build && cpack -G DEB)
#
# bin/verdict; share/man/man1/verdict.1.gz and verdict-COMMAND.1.gz (help2man on the built
# binary, deploy/man/genman.sh); share/bash-completion/completions/verdict; the systemd unit,
# sysusers.d and tmpfiles.d entries under lib/; share/doc/verdict with the documentation, the
# example configuration and the example policies; and SYSCONFDIR/verdict/verdict.yaml (the
# packaged configuration: loopback only; /etc/verdict with the /usr prefix).
include(GNUInstallDirs)

# The configuration directory: /etc for the /usr prefix (the package; DESTDIR still applies),
# else PREFIX/etc, relative so that `cmake --install --prefix DIR` relocates it.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(VD_CONF_DEST /etc/verdict)
else()
    set(VD_CONF_DEST ${CMAKE_INSTALL_SYSCONFDIR}/verdict)
endif()

install(TARGETS verdict RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages: generated after the binary is built, when help2man is installed.
find_program(VD_HELP2MAN help2man)
set(VD_MAN_DIR ${CMAKE_BINARY_DIR}/man)
if(VD_HELP2MAN)
    add_custom_command(OUTPUT ${VD_MAN_DIR}/verdict.1.gz
        COMMAND ${CMAKE_SOURCE_DIR}/deploy/man/genman.sh $<TARGET_FILE:verdict> ${VD_MAN_DIR}
                ${PROJECT_VERSION}
        DEPENDS verdict ${CMAKE_SOURCE_DIR}/deploy/man/genman.sh
        COMMENT "Generating man pages from verdict --help (help2man)"
        VERBATIM)
    add_custom_target(man ALL DEPENDS ${VD_MAN_DIR}/verdict.1.gz)
    install(DIRECTORY ${VD_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1.gz")
else()
    message(STATUS "help2man not found: no man pages (apt-get install help2man)")
endif()

install(FILES ${CMAKE_SOURCE_DIR}/deploy/completion/verdict.bash
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME verdict)

# The unit names the installed binary and configuration (deploy/systemd/verdict.service is
# written for /usr/bin and /etc, and tested as such).
file(READ ${CMAKE_SOURCE_DIR}/deploy/systemd/verdict.service _vd_unit)
string(REPLACE "/usr/bin/verdict" "${CMAKE_INSTALL_FULL_BINDIR}/verdict" _vd_unit "${_vd_unit}")
string(REPLACE "/etc/verdict" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/verdict" _vd_unit "${_vd_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/deploy/verdict.service "${_vd_unit}")
install(FILES ${CMAKE_BINARY_DIR}/deploy/verdict.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/verdict.sysusers
    DESTINATION lib/sysusers.d RENAME verdict.conf)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/verdict.tmpfiles
    DESTINATION lib/tmpfiles.d RENAME verdict.conf)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/config/verdict.yaml DESTINATION ${VD_CONF_DEST})

install(FILES
    ${CMAKE_SOURCE_DIR}/README.md
    ${CMAKE_SOURCE_DIR}/docs/configuration.md
    ${CMAKE_SOURCE_DIR}/docs/operations.md
    ${CMAKE_SOURCE_DIR}/docs/evidence.md
    ${CMAKE_SOURCE_DIR}/docs/measure.md
    ${CMAKE_SOURCE_DIR}/policies/README.md
    ${CMAKE_SOURCE_DIR}/docs/policy-authoring.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/docs/verdict.example.yaml
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/policies/examples/
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/policies FILES_MATCHING PATTERN "*.yaml")
# The relying-party examples, and the key broker for full-disk encryption that imports the
# Python one (deploy/examples/*/README.md).
install(PROGRAMS ${CMAKE_SOURCE_DIR}/deploy/examples/relying-party/relying_party.py
    ${CMAKE_SOURCE_DIR}/deploy/examples/relying-party/relying-party.sh
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/relying-party)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/examples/relying-party/README.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/relying-party)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/broker.py
    ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/cvm.py
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/key-broker)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/keywrap.py
    ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/fde-boot.yaml
    ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/fde-boot-azure.yaml
    ${CMAKE_SOURCE_DIR}/deploy/examples/key-broker/README.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/key-broker)

# --- cpack -G DEB --------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME verdict)
set(CPACK_PACKAGE_VENDOR "verdict")
set(CPACK_PACKAGE_CONTACT "verdict maintainers <verdict@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "remote attestation verifier for AMD SEV-SNP")
set(CPACK_PACKAGE_DESCRIPTION "verdict decides whether an AMD SEV-SNP attestation report is
genuine and appraises it against policies. It runs as a command (verdict verify) and as an
HTTP/2 service (verdict serve) that signs EAR results.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # dpkg-shlibdeps: libssl3, libjansson4, libyaml, ...
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(${CMAKE_SOURCE_DIR}/deploy/debian/conffiles.in
    ${CMAKE_BINARY_DIR}/deploy/debian/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_BINARY_DIR}/deploy/debian/conffiles)
# The package's paths are fixed (/usr, /etc): refuse to build it from another prefix.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/deploy/CPackProjectConfig.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE}
    "if(CPACK_GENERATOR STREQUAL \"DEB\" AND NOT \"${CMAKE_INSTALL_PREFIX}\" STREQUAL \"/usr\")\n"
    "  message(FATAL_ERROR \"the .deb needs -DCMAKE_INSTALL_PREFIX=/usr (configured: "
    "${CMAKE_INSTALL_PREFIX})\")\n"
    "endif()\n")
include(CPack)
