#include "bulwark/common/result.h"

#include <cstring>

namespace bulwark {

Error Error::from_errno(const std::string& what, int errno_value) {
  return Error(what + ": " + std::strerror(errno_value), errno_value);
}

}  // namespace bulwark
