#include "bulwark/common/resource_exhaustion.h"

#include <cerrno>
#include <exception>
#include <new>
#include <system_error>

#include "bulwark/common/log.h"

namespace bulwark {

std::string_view exhausted_resource(int errno_value) {
  switch (errno_value) {
    case EMFILE: return "open files (RLIMIT_NOFILE)";
    case ENFILE: return "open files (the host's file table)";
    case ENOMEM: return "memory";
    default: return {};
  }
}

std::string resource_exhausted_message(std::string_view resource, std::string_view detail) {
  return "resource exhausted: " + std::string(resource) + ": " + std::string(detail);
}

int run_main_guarded(const std::function<int()>& body, int resource_exit_code, int other_exit_code) {
  // Nothing here allocates before the handlers run except the message strings, which are
  // small; after a bad_alloc the heap usually has room again once the failed request is gone.
  try {
    return body();
  } catch (const std::bad_alloc&) {
    log::error(resource_exhausted_message("memory", "an allocation failed"));
    return resource_exit_code;
  } catch (const std::system_error& e) {
    const int err = e.code().category() == std::generic_category() ||
                            e.code().category() == std::system_category()
                        ? e.code().value()
                        : 0;
    std::string_view resource = err == EAGAIN ? kThreadsResource : exhausted_resource(err);
    if (!resource.empty()) {
      log::error(resource_exhausted_message(resource, e.what()));
      return resource_exit_code;
    }
    log::error(std::string("unexpected host failure: ") + e.what());
    return other_exit_code;
  } catch (const std::exception& e) {
    log::error(std::string("unexpected failure: ") + e.what());
    return other_exit_code;
  }
}

}  // namespace bulwark
