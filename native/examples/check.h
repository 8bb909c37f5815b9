// Shared by the example tools: stop with the library's message on a failed call.
#pragma once

#include "encrypted_knn_seal.h"

#include <cstdio>
#include <cstdlib>

inline void check(int32_t rc, const char *what)
{
    if (rc != EKS_OK)
    {
        char msg[512];
        eks_last_error(msg, sizeof msg);
        std::fprintf(stderr, "%s: %d %s\n", what, rc, msg);
        std::exit(1);
    }
}
