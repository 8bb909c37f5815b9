#include "boundary.h"

#include "seal/memorymanager.h"
#include "seal/util/common.h"
#include "seal/util/config.h"

#include <algorithm>
#include <charconv>
#include <exception>

namespace eks
{
    Counters counters;

    namespace
    {
        thread_local std::string last_error;
    }

    namespace
    {
        template <typename T>
        std::string shortest(T x)
        {
            char buf[64];
            auto r = std::to_chars(buf, buf + sizeof buf, x);
            return r.ec == std::errc() ? std::string(buf, r.ptr) : std::string("?");
        }
    } // namespace

    std::string num(double x)
    {
        return shortest(x);
    }

    std::string num(float x)
    {
        return shortest(x);
    }

    void set_last_error(const char *message) noexcept
    {
        try
        {
            last_error.assign(message);
        }
        catch (...)
        {
            last_error.clear(); // out of memory for the message itself: the status code still tells
        }
    }

    int32_t status_of_current_exception() noexcept
    {
        try
        {
            throw;
        }
        catch (const Error &e)
        {
            set_last_error(e.message.c_str());
            return e.code;
        }
        catch (const std::bad_alloc &)
        {
            set_last_error("internal error: out of memory");
        }
        catch (const std::exception &e)
        {
            try
            {
                set_last_error((std::string("internal error: ") + e.what()).c_str());
            }
            catch (...)
            {
                set_last_error("internal error");
            }
        }
        catch (...)
        {
            set_last_error("internal error: unknown exception");
        }
        return EKS_ERR_PANIC;
    }

    void wipe(void *data, std::size_t bytes) noexcept
    {
        if (data && bytes)
        {
            seal::util::seal_memzero(data, bytes); // explicit_bzero: not elided before a free
        }
    }

    ByteOutput::ByteOutput(uint8_t **data, uint64_t *len) : data(data), len(len)
    {
        if (!data)
        {
            fail(EKS_ERR_NULL, "null output pointer data");
        }
        if (!len)
        {
            fail(EKS_ERR_NULL, "null output pointer len");
        }
        *data = nullptr;
        *len = 0;
    }

    void ByteOutput::give(std::vector<uint8_t> &bytes, std::size_t n)
    {
        auto *exact = new (std::nothrow) uint8_t[std::max<std::size_t>(n, 1)];
        if (!exact)
        {
            wipe(bytes);
            fail(EKS_ERR_PANIC, "internal error: out of memory");
        }
        std::copy_n(bytes.data(), n, exact);
        wipe(bytes);
        counters.live_buffers.fetch_add(1, std::memory_order_relaxed);
        counters.live_buffer_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
        *data = exact;
        *len = n;
    }
} // namespace eks

using namespace eks;

extern "C" size_t eks_last_error(char *buf, size_t cap)
{
    try
    {
        if (buf && cap > 0)
        {
            std::size_t n = std::min(last_error.size(), cap - 1);
            std::memcpy(buf, last_error.data(), n);
            buf[n] = '\0';
        }
        return last_error.size();
    }
    catch (...)
    {
        return 0;
    }
}

extern "C" void eks_bytes_free(uint8_t *data, uint64_t len)
{
    guard_free([&] {
        if (!data)
        {
            return;
        }
        wipe(data, len);
        delete[] data;
        counters.live_buffers.fetch_sub(1, std::memory_order_relaxed);
        counters.live_buffer_bytes.fetch_sub(static_cast<int64_t>(len), std::memory_order_relaxed);
    });
}

extern "C" int32_t eks_seal_version(int32_t out[3])
{
    return guard([&] {
        if (!out)
        {
            fail(EKS_ERR_NULL, "null output");
        }
        out[0] = SEAL_VERSION_MAJOR;
        out[1] = SEAL_VERSION_MINOR;
        out[2] = SEAL_VERSION_PATCH;
    });
}

// out[0] live handles, out[1] live returned buffers, out[2] their bytes, out[3] bytes allocated by SEAL's global
// memory pool (it grows to a high-water mark and is reused, never returned to the OS), out[4] handles created.
extern "C" int32_t eks_stats(int64_t out[5])
{
    return guard([&] {
        if (!out)
        {
            fail(EKS_ERR_NULL, "null output");
        }
        out[0] = counters.live_handles.load(std::memory_order_relaxed);
        out[1] = counters.live_buffers.load(std::memory_order_relaxed);
        out[2] = counters.live_buffer_bytes.load(std::memory_order_relaxed);
        out[3] = static_cast<int64_t>(seal::MemoryManager::GetPool().alloc_byte_count());
        out[4] = counters.total_handles.load(std::memory_order_relaxed);
    });
}
