#include "jailer/ids/host_id_usage.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace bulwark::jailer {

namespace {

bool is_pid_name(const char* name) {
  if (*name == '\0') return false;
  for (const char* c = name; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9') return false;
  }
  return true;
}

}  // namespace

HostIdUsage HostIdUsage::scan() {
  HostIdUsage usage;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return usage;
  while (const dirent* entry = ::readdir(proc)) {
    if (!is_pid_name(entry->d_name)) continue;
    std::ifstream status(std::string("/proc/") + entry->d_name + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Uid:", 0) != 0 && line.rfind("Gid:", 0) != 0) continue;
      std::istringstream fields(line.substr(4));
      for (uint64_t id = 0; fields >> id;) {
        usage.process_ids_.emplace(static_cast<uint32_t>(id), static_cast<pid_t>(std::stol(entry->d_name)));
      }
    }
  }
  ::closedir(proc);
  return usage;
}

std::string HostIdUsage::user_of(uint32_t id) const {
  if (auto it = process_ids_.find(id); it != process_ids_.end()) {
    return "process " + std::to_string(it->second);
  }
  std::vector<char> buffer(16384);
  passwd account{};
  passwd* found_account = nullptr;
  if (::getpwuid_r(id, &account, buffer.data(), buffer.size(), &found_account) == 0 &&
      found_account != nullptr) {
    return std::string("account \"") + account.pw_name + "\"";
  }
  group grp{};
  group* found_group = nullptr;
  if (::getgrgid_r(id, &grp, buffer.data(), buffer.size(), &found_group) == 0 &&
      found_group != nullptr) {
    return std::string("group \"") + grp.gr_name + "\"";
  }
  return "";
}

}  // namespace bulwark::jailer
