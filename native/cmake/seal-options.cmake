# Initial cache (cmake -C) of the Microsoft SEAL 4.1.2 build: the library target `seal` only, static, Release.
# native/build.sh hashes this file into the name of the cached SEAL build, so editing it rebuilds SEAL.

set(CMAKE_BUILD_TYPE Release CACHE STRING "" FORCE)
# Linked into a shared library (libencrypted_knn_seal.so).
set(CMAKE_POSITION_INDEPENDENT_CODE ON CACHE BOOL "" FORCE)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)

# No optional dependency, so nothing to download or build besides SEAL itself. zlib/zstd: the library refuses
# compressed serializations anyway (a decompressor on untrusted input is attack surface); GSL only adds
# gsl::span overloads; HEXL is an AVX-512 backend this project does not need.
set(SEAL_BUILD_DEPS OFF CACHE BOOL "" FORCE)
set(SEAL_USE_ZLIB OFF CACHE BOOL "" FORCE)
set(SEAL_USE_ZSTD OFF CACHE BOOL "" FORCE)
set(SEAL_USE_MSGSL OFF CACHE BOOL "" FORCE)
set(SEAL_USE_INTEL_HEXL OFF CACHE BOOL "" FORCE)
# Belt and braces: any FetchContent would fail instead of reaching the network.
set(FETCHCONTENT_FULLY_DISCONNECTED ON CACHE BOOL "" FORCE)
set(FETCHCONTENT_UPDATES_DISCONNECTED ON CACHE BOOL "" FORCE)

# The shim uses SEAL's C++ API; SEAL's own C export library, tests, examples and benchmarks are not built.
set(SEAL_BUILD_SEAL_C OFF CACHE BOOL "" FORCE)
set(SEAL_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(SEAL_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
set(SEAL_BUILD_BENCH OFF CACHE BOOL "" FORCE)

# Noise: the rounded Gaussian of the HomomorphicEncryption.org standard (sigma 3.2), as the library always used
# (native/README.md, "Noise distribution"). SEAL's default would be a centered binomial distribution.
set(SEAL_USE_GAUSSIAN_NOISE ON CACHE BOOL "" FORCE)
# A transparent product (all-zero plaintext) is an error; the shim never produces one (eks_score_batch).
set(SEAL_THROW_ON_TRANSPARENT_CIPHERTEXT ON CACHE BOOL "" FORCE)
