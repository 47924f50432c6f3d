// The VM's API socket at the operator's path (bulwark run --api-sock PATH): made by the launcher,
// owner root and group the host config's api.socket_gid (mode 0660; 0600 with no group), bound
// and listening; bulwark-api gets the listening fd and accepts on it. Operator input: the path.
// An existing file at the path is refused (never unlinked: it may be another VM's socket); the
// socket file is removed when this object goes, if it is still the one made here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

class ApiSocket {
 public:
  // Under sVirt, `socket_context` is the listening socket's own context (bulwark-api's, so it may
  // accept on it) and `file_context` the socket file's; "" = none (SELinux off).
  static Result<ApiSocket> create(const std::string& path, int64_t gid, const std::string& socket_context = "",
                                  const std::string& file_context = "");
  ApiSocket(ApiSocket&& other) noexcept;
  ApiSocket& operator=(ApiSocket&&) = delete;
  ApiSocket(const ApiSocket&) = delete;
  ~ApiSocket();

  int listen_fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  ApiSocket() = default;
  UniqueFd fd_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace bulwark::jail
