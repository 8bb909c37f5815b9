# Passed to SEAL's CMake build through the CMAKE_TOOLCHAIN_FILE environment variable,
# which the `cmake` crate used by sealy's build.rs forwards as -DCMAKE_TOOLCHAIN_FILE.
#
# SEAL is configured with SEAL_BUILD_DEPS=ON (its C API refuses to build otherwise).
# In the copy of SEAL 4.0.0 bundled by the sealy crate, the only dependencies that are
# enabled (zlib, zstd; MSGSL/HEXL/GTest/benchmark are OFF) are taken from
# SEAL/thirdparty/ inside the crate with add_subdirectory(), not downloaded. This file
# makes sure nothing can ever reach the network anyway: any FetchContent_Populate is
# forced to use what is already on disk, and fails loudly otherwise.
set(FETCHCONTENT_FULLY_DISCONNECTED ON CACHE BOOL "encrypted-knn: never download" FORCE)
set(FETCHCONTENT_UPDATES_DISCONNECTED ON CACHE BOOL "encrypted-knn: never update" FORCE)
set(FETCHCONTENT_QUIET ON CACHE BOOL "" FORCE)
# Reproducibility: no dependence on the build machine's CPU beyond x86-64 baseline.
set(CMAKE_POSITION_INDEPENDENT_CODE ON CACHE BOOL "" FORCE)
