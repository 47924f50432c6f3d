#include "jailer/policy_cli/policy_tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "policy/seccomp_policy/policy_loader.h"

namespace bulwark::policy_cli {

namespace {

constexpr size_t kMaxTextFileBytes = 4 << 20;

bool is_directory(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> list_with_suffix(const std::string& dir, std::string_view suffix,
                                          std::error_code& error) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.ends_with(suffix) && name[0] != '.') {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

const std::vector<PolicyKind>& policy_kinds() {
  static const std::vector<PolicyKind> kKinds = {
      {"launcher", "bulwark (launcher)", nullptr},
      {"monitor-main", "bulwark-monitor, main thread", "monitor-main.policy"},
      {"monitor-vcpu", "bulwark-monitor, vCPU threads", "monitor-vcpu.policy"},
      {"dev-blk", "bulwark-dev-blk", "dev-blk.policy"},
      {"dev-rng", "bulwark-dev-rng", "dev-rng.policy"},
      {"dev-net", "bulwark-dev-net", "dev-net.policy"},
      {"dev-vsock", "bulwark-dev-vsock", "dev-vsock.policy"},
      {"api", "bulwark-api", "api.policy"},
  };
  return kKinds;
}

bool is_test_build_overlay(const std::string& file_name) {
  return file_name == "sanitizer-runtime.policy";
}

bool is_regular_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<PolicyTree> locate_policy_tree(const std::string& dir) {
  if (!is_directory(dir)) return Error(dir + ": not a directory");
  PolicyTree tree;
  if (is_directory(dir + "/seccomp")) {
    tree.seccomp_dir = dir + "/seccomp";
    if (is_directory(dir + "/selinux")) tree.selinux_dir = dir + "/selinux";
  } else {
    tree.seccomp_dir = dir;
  }
  return tree;
}

Result<std::vector<std::string>> list_policy_files(const std::string& dir) {
  std::error_code error;
  std::vector<std::string> names = list_with_suffix(dir, ".policy", error);
  if (error) return Error(dir + ": " + error.message());
  return names;
}

std::vector<std::string> list_te_files(const std::string& dir) {
  std::error_code error;
  std::vector<std::string> names = list_with_suffix(dir, ".te", error);
  if (error) return {};
  return names;
}

Result<std::string> read_text_file(const std::string& path) {
  if (!is_regular_file(path)) return Error(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::from_errno("cannot read " + path, errno);
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxTextFileBytes) return Error(path + ": larger than 4 MiB");
  }
  return text;
}

LoadedPolicy load_policy(const std::string& seccomp_dir, const std::string& file_name) {
  LoadedPolicy loaded;
  const std::string path = seccomp_dir + "/" + file_name;
  if (!is_regular_file(path)) return loaded;
  loaded.present = true;
  auto policy = policy::load_seccomp_policy_file(path);
  if (policy.ok()) {
    loaded.policy = std::move(*policy);
  } else {
    loaded.error = policy.error().message();
  }
  return loaded;
}

}  // namespace bulwark::policy_cli
