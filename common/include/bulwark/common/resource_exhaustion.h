// Running out of a host resource (threads, file descriptors, memory) is an error a process
// reports and exits on with its documented "resource exhausted" code, never a crash: an
// uncaught exception would abort the process and look like a signal death.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace bulwark {

// What a failed thread creation (std::thread, pthread_create: EAGAIN) ran out of.
inline constexpr std::string_view kThreadsResource =
    "threads (the pids cgroup's pids.max or RLIMIT_NPROC)";

// The resource an errno value says ran out, for messages: EMFILE "open files (RLIMIT_NOFILE)",
// ENFILE, ENOMEM. Empty when the errno is something else. EAGAIN is not mapped: outside thread
// creation it means "try again", not exhaustion.
std::string_view exhausted_resource(int errno_value);

// "resource exhausted: <resource>: <detail>", the one spelling every process logs.
std::string resource_exhausted_message(std::string_view resource, std::string_view detail);

// A process's last resort, around the whole of main(): a std::bad_alloc, or a std::system_error
// whose errno names an exhausted resource (or EAGAIN, from thread creation), that escapes
// `body` is logged with resource_exhausted_message() and returns resource_exit_code; any other
// exception is logged and returns other_exit_code.
int run_main_guarded(const std::function<int()>& body, int resource_exit_code, int other_exit_code);

}  // namespace bulwark
