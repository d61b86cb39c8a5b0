# Install and export rules for libstrobe (docs/install.md says how consumers use them).
#
#   cmake --install build/release --prefix /opt/strobe [--component dev|libstrobe|daemon]
#
# installs, for every module under lib/ that has sources (base, snapshot, metrics, metrics_shm,
# shm, trace, trace_shm):
#   lib/libstrobe_<module>.so.<major>.<minor>.<patch> (+ SONAME and dev symlinks)  libstrobe
#   lib/libstrobe_<module>.a, include/strobe/**.h, include/strobe/base/version.h  dev
#   lib/cmake/strobe/strobe{Config,ConfigVersion,Targets*}.cmake                 dev
#   lib/pkgconfig/strobe.pc (shared: metrics, trace, shm and their dependencies)  dev
# Consumers: find_package(strobe 0.1 REQUIRED) then strobe::metrics / strobe::trace (shared) or
# strobe::metrics_static / strobe::trace_static. SameMinorVersion: a 0.x minor release may
# break the API and ABI, so 0.1 accepts 0.1.y only.
include(CMakePackageConfigHelpers)

set(STROBE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/strobe)
get_property(strobe_install_libs GLOBAL PROPERTY STROBE_INSTALL_LIBS)
install(TARGETS ${strobe_install_libs}
        EXPORT strobeTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libstrobe NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/generated/strobe/base/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/strobe/base COMPONENT dev)
install(EXPORT strobeTargets NAMESPACE strobe:: DESTINATION ${STROBE_INSTALL_CMAKEDIR}
        COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/strobeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/strobeConfig.cmake
                              INSTALL_DESTINATION ${STROBE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/strobeConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/strobeConfig.cmake
              ${PROJECT_BINARY_DIR}/strobeConfigVersion.cmake
        DESTINATION ${STROBE_INSTALL_CMAKEDIR} COMPONENT dev)

# strobe.pc finds its prefix from its own place (${pcfiledir}), so `cmake --install --prefix X`
# and a moved tree work without reconfiguring.
file(RELATIVE_PATH STROBE_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" STROBE_PC_TO_PREFIX "${STROBE_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/strobe.pc.in ${PROJECT_BINARY_DIR}/strobe.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/strobe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)
