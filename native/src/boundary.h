// The C boundary: status codes and messages, exception containment, handles, returned buffers, accounting.
#pragma once

#include "encrypted_knn_seal.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eks
{
    /** A refusal with its EKS_* code and message; thrown inside the library, turned into a status by guard(). */
    struct Error
    {
        int32_t code;
        std::string message;
    };

    [[noreturn]] inline void fail(int32_t code, std::string message)
    {
        throw Error{ code, std::move(message) };
    }

    /** Shortest round-trip text of a number (as the previous Rust library printed it: 2, 33554432, 0.5, nan). */
    std::string num(double x);
    std::string num(float x);

    /** Runs a SEAL call; an exception from SEAL becomes EKS_ERR_SEAL ("SEAL <what> failed: <reason>"). */
    template <typename F>
    decltype(auto) seal_call(const char *what, F &&f)
    {
        try
        {
            return f();
        }
        catch (const std::bad_alloc &)
        {
            throw;
        }
        catch (const std::exception &e)
        {
            fail(EKS_ERR_SEAL, std::string("SEAL ") + what + " failed: " + e.what());
        }
    }

    void set_last_error(const char *message) noexcept;
    int32_t status_of_current_exception() noexcept;

    /**
     * Runs the body of an exported function: EKS_OK, or the code of the eks::Error it threw (message kept for
     * eks_last_error). Any other exception (out of memory, a bug) becomes EKS_ERR_PANIC; none leaves the library.
     */
    template <typename F>
    int32_t guard(F &&body) noexcept
    {
        try
        {
            body();
            set_last_error("");
            return EKS_OK;
        }
        catch (...)
        {
            return status_of_current_exception();
        }
    }

    /** For the void *_free exports: nothing may escape, and there is no status to report. */
    template <typename F>
    void guard_free(F &&body) noexcept
    {
        try
        {
            body();
        }
        catch (...)
        {
        }
    }

    // ---- accounting (eks_stats) ----------------------------------------------------------------------------

    struct Counters
    {
        std::atomic<int64_t> live_handles{ 0 };
        std::atomic<int64_t> total_handles{ 0 };
        std::atomic<int64_t> live_buffers{ 0 };
        std::atomic<int64_t> live_buffer_bytes{ 0 };
    };
    extern Counters counters;

    // ---- wiping ---------------------------------------------------------------------------------------------

    /** Overwrites bytes of keys, queries or decrypted coefficients before their memory is released. */
    void wipe(void *data, std::size_t bytes) noexcept;

    template <typename T>
    void wipe(std::vector<T> &v) noexcept
    {
        static_assert(std::is_trivially_copyable<T>::value, "plain words only");
        wipe(v.data(), v.size() * sizeof(T));
    }

    /** A byte vector that wipes itself (serialized secret keys and their copies). */
    struct WipedBytes
    {
        std::vector<uint8_t> bytes;
        ~WipedBytes()
        {
            wipe(bytes);
        }
    };

    // ---- handles --------------------------------------------------------------------------------------------

    // Every handle starts with a tag word naming its type (T::TAG, handles.h): a handle of the wrong type is
    // refused, and the tag is cleared on release so that a stale handle is usually caught (use after free remains
    // the caller's bug: the memory may have been reused).
    constexpr uint64_t TAG_CONTEXT = 0x454b535f43545831;   // "EKS_CTX1"
    constexpr uint64_t TAG_SECRET = 0x454b535f534b4559;    // "EKS_SKEY"
    constexpr uint64_t TAG_KEYHOLDER = 0x454b535f4b484c44; // "EKS_KHLD"
    constexpr uint64_t TAG_CIPHER = 0x454b535f43545854;    // "EKS_CTXT"
    constexpr uint64_t TAG_PREPARED = 0x454b535f5a45524f;  // "EKS_ZERO"

    /** The live handle behind `p` of the type T (tag T::TAG), or EKS_ERR_NULL naming `what`. */
    template <typename T>
    const T &deref(const T *p, const char *what)
    {
        if (!p)
        {
            fail(EKS_ERR_NULL, std::string("null ") + what + " handle");
        }
        if (p->tag != T::TAG)
        {
            fail(EKS_ERR_NULL, std::string("not a ") + what + " handle (freed or wrong type)");
        }
        return *p;
    }

    /** Checks the output pointer of a function that creates a handle and clears it (no handle on failure). */
    template <typename T>
    T **cleared_output(T **out)
    {
        if (!out)
        {
            fail(EKS_ERR_NULL, "null output pointer out");
        }
        *out = nullptr;
        return out;
    }

    /** Hands a new handle to the caller. */
    template <typename T>
    T *give_handle(std::unique_ptr<T> h) noexcept
    {
        counters.live_handles.fetch_add(1, std::memory_order_relaxed);
        counters.total_handles.fetch_add(1, std::memory_order_relaxed);
        return h.release();
    }

    /** Releases a handle; a null pointer, a wrong type or a double free (tag cleared) is ignored. */
    template <typename T>
    void free_handle(T *p) noexcept
    {
        if (!p || p->tag != T::TAG)
        {
            return;
        }
        *static_cast<volatile uint64_t *>(&p->tag) = 0; // volatile: not elided as a dead store before the delete
        delete p;
        counters.live_handles.fetch_sub(1, std::memory_order_relaxed);
    }

    // ---- returned buffers -----------------------------------------------------------------------------------

    /** The two output pointers of a function that returns bytes, checked and cleared (no buffer on failure). */
    struct ByteOutput
    {
        uint8_t **data;
        uint64_t *len;

        ByteOutput(uint8_t **data, uint64_t *len);

        /** Hands an exact-size copy of bytes[0, n) to the caller (freed by eks_bytes_free); `bytes` is wiped. */
        void give(std::vector<uint8_t> &bytes, std::size_t n);
    };
} // namespace eks
