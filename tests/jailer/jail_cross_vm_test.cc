// Two VMs launched through `bulwark run` at once: what one VM's uid/gid can reach of the other's
// jail, that they share no cgroup or jail directory, and that a launch refused for want of a
// free uid creates nothing and leaves the running VM alone.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

// What a process running as one VM's uid/gid met when it tried each access: 0 when it
// succeeded, else the errno.
struct CrossAccess {
  int other_instance_dir = -1;  // open <base>/<B> as a directory
  int other_vm_json = -1;       // open <base>/<B>/root/vm.json for reading
  int other_root_listing = -1;  // open <base>/<B>/root as a directory
  int other_root_by_fd = -1;    // open "." of B's root through an O_PATH fd handed to it
  int other_vm_json_by_fd = -1; // open vm.json under B's root through that fd
  int own_root_by_fd = -1;      // the same two for its own root: these must succeed
  int own_vm_json_by_fd = -1;
};

int open_errno(int dir_fd, const std::string& path, int flags) {
  const int fd = ::openat(dir_fd, path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// Forks a helper that drops to uid/gid (no supplementary groups, as the monitor runs) and tries
// the accesses. The O_PATH fds are opened as root first: they model a path to the jail that a
// compromised monitor might get, so the check rests on the jail roots' owners and modes alone.
Result<CrossAccess> probe_as(uid_t uid, gid_t gid, const std::string& own_root,
                             const std::string& other_instance) {
  const int own_fd = ::open(own_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  const int other_fd = ::open((other_instance + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (own_fd < 0 || other_fd < 0) return Error::from_errno("open O_PATH jail roots", errno);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Error::from_errno("pipe2", errno);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork", errno);
  if (pid == 0) {
    CrossAccess seen;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0) {
      ::_exit(2);
    }
    seen.other_instance_dir = open_errno(AT_FDCWD, other_instance, O_RDONLY | O_DIRECTORY);
    seen.other_vm_json = open_errno(AT_FDCWD, other_instance + "/root/vm.json", O_RDONLY);
    seen.other_root_listing = open_errno(AT_FDCWD, other_instance + "/root", O_RDONLY | O_DIRECTORY);
    seen.other_root_by_fd = open_errno(other_fd, ".", O_RDONLY | O_DIRECTORY);
    seen.other_vm_json_by_fd = open_errno(other_fd, "vm.json", O_RDONLY);
    seen.own_root_by_fd = open_errno(own_fd, ".", O_RDONLY | O_DIRECTORY);
    seen.own_vm_json_by_fd = open_errno(own_fd, "vm.json", O_RDONLY);
    const bool sent = ::write(report[1], &seen, sizeof seen) == static_cast<ssize_t>(sizeof seen);
    ::_exit(sent ? 0 : 3);
  }
  ::close(report[1]);
  ::close(own_fd);
  ::close(other_fd);
  CrossAccess seen;
  const ssize_t got = ::read(report[0], &seen, sizeof seen);
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof seen) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error("probe helper failed (status " + std::to_string(status) + ")");
  }
  return seen;
}

uint32_t first_number(const std::string& text) { return static_cast<uint32_t>(std::stoul(text)); }

TEST_F(JailTest, OneVmsUidCannotReachAnotherVmsJail) {
  const std::string id_b = second_vm_id();
  auto vms = start_two_spinning_vms();
  ASSERT_TRUE(vms.ok()) << vms.error().message();
  ChildProcess &a = vms->a, &b = vms->b;
  const pid_t monitor_a = vms->monitor_a, monitor_b = vms->monitor_b;

  // Distinct jail directories: each monitor's root is its own <base>/<id>/root.
  const std::string jail_a = base_dir_ + "/" + id_, jail_b = base_dir_ + "/" + id_b;
  struct stat root_a{}, root_b{}, seen_a{}, seen_b{};
  ASSERT_EQ(::stat((jail_a + "/root").c_str(), &root_a), 0);
  ASSERT_EQ(::stat((jail_b + "/root").c_str(), &root_b), 0);
  ASSERT_EQ(::stat(("/proc/" + std::to_string(monitor_a) + "/root").c_str(), &seen_a), 0);
  ASSERT_EQ(::stat(("/proc/" + std::to_string(monitor_b) + "/root").c_str(), &seen_b), 0);
  EXPECT_NE(root_a.st_ino, root_b.st_ino);
  EXPECT_TRUE(seen_a.st_dev == root_a.st_dev && seen_a.st_ino == root_a.st_ino) << "A's root is not " << jail_a;
  EXPECT_TRUE(seen_b.st_dev == root_b.st_dev && seen_b.st_ino == root_b.st_ino) << "B's root is not " << jail_b;

  // Distinct cgroups, in every hierarchy.
  const std::string cgroup_a = read_text("/proc/" + std::to_string(monitor_a) + "/cgroup");
  const std::string cgroup_b = read_text("/proc/" + std::to_string(monitor_b) + "/cgroup");
  EXPECT_NE(cgroup_a.find("/" + cgroup_parent_ + "/" + id_ + "\n"), std::string::npos) << cgroup_a;
  EXPECT_NE(cgroup_b.find("/" + cgroup_parent_ + "/" + id_b + "\n"), std::string::npos) << cgroup_b;
  EXPECT_NE(cgroup_a, cgroup_b);
  std::istringstream lines_a(cgroup_a);
  for (std::string line; std::getline(lines_a, line);) {
    if (line.find(cgroup_parent_) != std::string::npos) {
      EXPECT_EQ(cgroup_b.find(line + "\n"), std::string::npos) << "shared cgroup " << line;
    }
  }

  // As VM A's uid/gid: nothing of B's jail opens, by path or through a handed-over fd; A's own
  // root and vm.json do, through the same kind of fd.
  const uint32_t uid_a = first_number(status_field(monitor_a, "Uid"));
  const uint32_t gid_a = first_number(status_field(monitor_a, "Gid"));
  ASSERT_NE(uid_a, first_number(status_field(monitor_b, "Uid")));
  auto seen = probe_as(uid_a, gid_a, jail_a + "/root", jail_b);
  ASSERT_TRUE(seen.ok()) << seen.error().message();
  EXPECT_EQ(seen->other_instance_dir, EACCES);
  EXPECT_EQ(seen->other_vm_json, EACCES);
  EXPECT_EQ(seen->other_root_listing, EACCES);
  EXPECT_EQ(seen->other_root_by_fd, EACCES);
  EXPECT_EQ(seen->other_vm_json_by_fd, EACCES);
  EXPECT_EQ(seen->own_root_by_fd, 0) << "A cannot open its own jail root";
  EXPECT_EQ(seen->own_vm_json_by_fd, 0) << "A cannot read its own vm.json";

  ASSERT_TRUE(a.send_signal(SIGTERM).ok());
  ASSERT_TRUE(b.send_signal(SIGTERM).ok());
  ProcessResult end_a = a.wait(30s), end_b = b.wait(30s);
  EXPECT_TRUE(end_a.exited && end_a.exit_code == 8) << end_a.describe();
  EXPECT_TRUE(end_b.exited && end_b.exit_code == 8) << end_b.describe();
  expect_nothing_left();
  expect_nothing_left(id_b);
}

TEST_F(JailTest, ExhaustedUidRangeRefusesTheSecondVmAndCreatesNothing) {
  const std::string id_b = second_vm_id();
  // The operator's range holds one id.
  std::ofstream(host_config_path()) << "{\"base_dir\": \"" << base_dir_ << "\", \"run_dir\": \"" << run_dir_
                                    << "\", \"cgroup_parent\": \"" << cgroup_parent_
                                    << "\", \"id_range\": [" << vm_uid_ << ", " << vm_uid_ << "]}";
  const std::string config_a = write_vm_config(dir_ + "/a.json", guest("spin"));
  const std::string config_b = write_vm_config(dir_ + "/b.json", guest("spin"));
  const std::string uid = std::to_string(vm_uid_);
  auto a = start_spinning_vm(config_a);
  ASSERT_TRUE(a.ok()) << a.error().message();
  const pid_t monitor_a = jailed_child_of(a->pid());
  ASSERT_GT(monitor_a, 0);
  EXPECT_EQ(status_field(monitor_a, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  const std::set<std::string> held_mcs = list_dir(run_dir_ + "/mcs");

  ProcessResult second = run_process(BULWARK_JAILER, run_args(config_b, {}, id_b), {}, 30s);
  EXPECT_TRUE(second.exited && second.exit_code == 9) << second.describe();
  EXPECT_NE(second.err.find("jail step ids: "), std::string::npos) << second.describe();
  EXPECT_NE(second.err.find("no free id in"), std::string::npos) << second.describe();
  EXPECT_NE(second.err.find("all 1 are held by live VMs"), std::string::npos) << second.describe();
  // Nothing of B's: no jail directory, no cgroup, no reservation beyond A's.
  EXPECT_EQ(list_dir(base_dir_), std::set<std::string>{id_});
  for (const std::string& leaf : cgroup_leaves(id_b)) EXPECT_FALSE(fs::exists(leaf)) << leaf;
  EXPECT_EQ(list_dir(run_dir_ + "/ids"), std::set<std::string>{uid + ".lock"});
  EXPECT_EQ(list_dir(run_dir_ + "/mcs"), held_mcs);

  // A was not disturbed.
  EXPECT_EQ(::kill(monitor_a, 0), 0) << "the first VM's monitor is gone";
  EXPECT_EQ(jailed_child_of(a->pid()), monitor_a);
  ASSERT_TRUE(a->send_signal(SIGTERM).ok());
  ProcessResult end_a = a->wait(30s);
  EXPECT_TRUE(end_a.exited && end_a.exit_code == 8) << end_a.describe();
  expect_nothing_left();
  expect_nothing_left(id_b);
}

}  // namespace
}  // namespace bulwark::test
