// Loading policy files from disk: includes relative to the file, and refusal of anything that
// is not a regular file in that directory.
#include "policy/seccomp_policy/policy_loader.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bulwark::policy {
namespace {

const std::string kTestdata = BULWARK_POLICY_TESTDATA;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/bulwark-policy-test-XXXXXX";
    if (::mkdtemp(name) != nullptr) path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  std::string path_;
};

std::string error_of(const Result<SeccompPolicy>& result) {
  return result.ok() ? std::string("(accepted)") : result.error().message();
}

TEST(PolicyLoader, LoadsAFileAndItsIncludes) {
  const std::string path = kTestdata + "/child.policy";
  Result<SeccompPolicy> policy = load_seccomp_policy_file(path);
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  EXPECT_EQ(policy->name, path);
  EXPECT_EQ(policy->files, (std::vector<std::string>{path, kTestdata + "/child_base.policy"}));
  std::vector<std::string> names;
  for (const SyscallRule& rule : policy->rules) names.push_back(rule.name);
  EXPECT_EQ(names, (std::vector<std::string>{"write", "exit_group", "sigaltstack", "read",
                                             "ioctl", "openat", "close"}));
  EXPECT_EQ(policy->rules[0].location(), kTestdata + "/child_base.policy:2");
  EXPECT_EQ(policy->rules[4].location(), path + ":5");
  EXPECT_EQ(policy->rules[4].reason, "ask how many bytes a pipe holds");
}

TEST(PolicyLoader, UnknownSystemCallFailsAtItsLine) {
  const std::string path = kTestdata + "/unknown_syscall.policy";
  EXPECT_EQ(error_of(load_seccomp_policy_file(path)),
            path + ":4: unknown system call 'spawn_shell' on x86-64");
}

TEST(PolicyLoader, IncludeCannotLeaveTheDirectory) {
  const std::string path = kTestdata + "/escape.policy";
  EXPECT_EQ(error_of(load_seccomp_policy_file(path)),
            path + ":2: @include '../CMakeLists.txt': only a file in the same directory can be "
                   "included (no '/')");
}

TEST(PolicyLoader, SymbolicLinkIncludeIsRefused) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_EQ(::symlink("/etc/passwd", (dir.path() + "/link.policy").c_str()), 0);
  const std::string main = dir.write("main.policy", "@include link.policy\n");
  EXPECT_EQ(error_of(load_seccomp_policy_file(main)),
            main + ":1: cannot read included file 'link.policy': is a symbolic link; included "
                   "files must be regular files");
}

TEST(PolicyLoader, DirectoriesAndFifosAreNotPolicyFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_EQ(::mkdir((dir.path() + "/sub.policy").c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo.policy").c_str(), 0600), 0);
  for (const std::string name : {"sub.policy", "fifo.policy"}) {
    const std::string main = dir.write("main.policy", "read -- x\n@include " + name + "\n");
    EXPECT_EQ(error_of(load_seccomp_policy_file(main)),
              main + ":2: cannot read included file '" + name + "': not a regular file");
  }
  // The top-level file too; opening the FIFO must not wait for a writer.
  EXPECT_EQ(error_of(load_seccomp_policy_file(dir.path() + "/fifo.policy")),
            dir.path() + "/fifo.policy: not a regular file");
}

TEST(PolicyLoader, MissingFilesAreNamed) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  EXPECT_EQ(error_of(load_seccomp_policy_file(dir.path() + "/none.policy")),
            dir.path() + "/none.policy: cannot open: No such file or directory");
  EXPECT_EQ(error_of(load_seccomp_policy_file(dir.path() + "/no/such/dir.policy")),
            dir.path() + "/no/such/dir.policy: cannot open its directory: No such file or "
                         "directory");
  const std::string main = dir.write("main.policy", "\n\n@include absent.policy\n");
  EXPECT_EQ(error_of(load_seccomp_policy_file(main)),
            main + ":3: cannot read included file 'absent.policy': cannot open: No such file or "
                   "directory");
}

TEST(PolicyLoader, OversizedFileIsRefused) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string comment_line = "# " + std::string(98, 'x') + "\n";  // 101 bytes
  std::string big;
  while (big.size() <= kMaxPolicyFileBytes) big += comment_line;
  dir.write("big.policy", big);
  const std::string main = dir.write("main.policy", "@include big.policy\n");
  EXPECT_EQ(error_of(load_seccomp_policy_file(main)),
            main + ":1: cannot read included file 'big.policy': larger than 1048576 bytes");

  std::string fits;
  while (fits.size() + comment_line.size() <= kMaxPolicyFileBytes) fits += comment_line;
  dir.write("big.policy", fits + "read -- x\n");
  EXPECT_TRUE(load_seccomp_policy_file(main).ok());
}

}  // namespace
}  // namespace bulwark::policy
