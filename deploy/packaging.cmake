# Debian package (CPack): `cmake --build build --target package` or `cpack --config build/CPackConfig.cmake`
# gives kaspersky-feeds-connector_<version>_<arch>.deb with the binary, the systemd unit, a sample
# configuration and a system user created on install.
include(GNUInstallDirs)

install(FILES ${CMAKE_CURRENT_LIST_DIR}/../deploy/systemd/kaspersky-feeds-connector.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/../deploy/config.yml.sample
        DESTINATION share/kaspersky-feeds-connector RENAME config.yml.example)  # not doc/: minimal systems drop /usr/share/doc

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "kaspersky-feeds-connector")
set(CPACK_PACKAGE_VENDOR "Kaspersky Feeds connector contributors")
set(CPACK_PACKAGE_CONTACT "maintainers@example.invalid")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kaspersky Threat Data Feeds (TAXII 2.1) connector for OpenCTI")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_STRIP_FILES ON)                # a stripped binary whatever the build type (debug info: 10x the size)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # runtime library packages from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/../deploy/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/../deploy/debian/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
