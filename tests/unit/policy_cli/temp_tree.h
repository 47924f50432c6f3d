// Temporary policy trees for the `bulwark policy` tests: an empty one, or a copy of the
// project's own policy files to change.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bulwark::policy_cli::testing {

class TempTree {
 public:
  TempTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "policy-cli-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempTree() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& path() const { return path_; }

  void write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path file = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
  }

  std::string read(const std::string& relative) const {
    std::ifstream in(std::filesystem::path(path_) / relative, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // seccomp/ (and selinux/ when the source has one) copied from the project's policy tree.
  void copy_project_policy() const {
    const std::filesystem::path source = BULWARK_SOURCE_POLICY_DIR;
    std::filesystem::create_directories(std::filesystem::path(path_) / "seccomp");
    for (const auto& entry : std::filesystem::directory_iterator(source / "seccomp")) {
      if (entry.path().extension() == ".policy") {
        std::filesystem::copy_file(entry.path(), std::filesystem::path(path_) / "seccomp" / entry.path().filename());
      }
    }
  }

  // Replaces the first occurrence of `from` in a file; false when it is not there.
  bool replace(const std::string& relative, const std::string& from, const std::string& to) const {
    std::string text = read(relative);
    const size_t at = text.find(from);
    if (at == std::string::npos) return false;
    text.replace(at, from.size(), to);
    write(relative, text);
    return true;
  }

 private:
  std::string path_;
};

}  // namespace bulwark::policy_cli::testing
