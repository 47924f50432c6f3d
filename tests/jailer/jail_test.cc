// `bulwark run` from the outside: a jailed test guest is inspected through /proc while it runs
// (ids, capabilities, namespaces, root contents, cgroup and limits), and every way the launcher
// ends must leave nothing behind (jail directory, cgroup directories).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

TEST_F(JailTest, SpinningMonitorIsJailedAndSigtermTearsEverythingDown) {
  const std::string config = write_config(
      guest("spin"), ", \"pids_max\": 32, \"cpu_quota_percent\": 50, \"cpuset\": \"0\", "
                     "\"memory_overhead_mib\": 96");
  auto launcher = start_spinning_vm(config);
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  const pid_t monitor = jailed_child_of(launcher->pid());
  ASSERT_GT(monitor, 0);
  const std::string proc = "/proc/" + std::to_string(monitor);

  // Who it runs as and what it may do.
  // uid == gid, the first of the operator's range.
  const std::string uid = std::to_string(vm_uid_), gid = uid;
  EXPECT_EQ(status_field(monitor, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(status_field(monitor, "Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
  EXPECT_EQ(status_field(monitor, "Groups"), "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_field(monitor, set), "0000000000000000") << set;
  }
  EXPECT_EQ(status_field(monitor, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(monitor, "Seccomp"), "2");

  // Its own namespaces.
  for (const char* ns : {"mnt", "pid", "net", "ipc", "uts"}) {
    std::error_code ec;
    EXPECT_NE(fs::read_symlink(proc + "/ns/" + ns, ec), fs::read_symlink("/proc/self/ns/" + std::string(ns)))
        << ns;
  }

  // Its root holds only what the jail put there, read-only.
  EXPECT_EQ(list_dir(proc + "/root"),
            (std::set<std::string>{"bulwark-monitor", "dev", "lib", "lib64", "seccomp", "usr", "vm",
                                   "vm.json"}));
  EXPECT_EQ(list_dir(proc + "/root/dev"), std::set<std::string>{"kvm"});
  EXPECT_EQ(list_dir(proc + "/root/vm"), std::set<std::string>{"kernel"});
  struct stat kvm{};
  ASSERT_EQ(::stat((proc + "/root/dev/kvm").c_str(), &kvm), 0);
  EXPECT_TRUE(S_ISCHR(kvm.st_mode));
  EXPECT_EQ(kvm.st_mode & 07777, 0600u);
  EXPECT_EQ(kvm.st_uid, vm_uid_);
  std::istringstream mounts(read_text(proc + "/mountinfo"));
  bool root_read_only = false;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, source, target, options;
    fields >> id >> parent >> dev >> source >> target >> options;
    if (target == "/") root_read_only = options.rfind("ro,", 0) == 0;
    if (target == "/vm/kernel") {
      EXPECT_EQ(options.rfind("ro,", 0), 0u) << line;
    }
  }
  EXPECT_TRUE(root_read_only) << read_text(proc + "/mountinfo");

  // Its resource limits.
  const std::string limits = read_text(proc + "/limits");
  for (const char* line : {"Max core file size        0                    0 ",
                           "Max open files            1024                 1024 ",
                           "Max locked memory         0                    0 ",
                           "Max processes             32                   32 "}) {
    EXPECT_NE(limits.find(line), std::string::npos) << line << " in\n" << limits;
  }

  // Its cgroup, with the configured limits.
  const std::string cgroups = read_text(proc + "/cgroup");
  for (const char* controller : {"memory", "pids", "cpu", "cpuset"}) {
    EXPECT_NE(cgroups.find(std::string(controller) + ":/" + cgroup_parent_ + "/" + id_ + "\n"),
              std::string::npos)
        << controller << " in\n" << cgroups;
  }
  const std::string memory = "/sys/fs/cgroup/memory/" + cgroup_parent_ + "/" + id_;
  EXPECT_EQ(trimmed(read_text(memory + "/memory.limit_in_bytes")), std::to_string((64 + 96) << 20));
  EXPECT_EQ(trimmed(read_text("/sys/fs/cgroup/pids/" + cgroup_parent_ + "/" + id_ + "/pids.max")), "32");
  const std::string cpu = "/sys/fs/cgroup/cpu/" + cgroup_parent_ + "/" + id_;
  EXPECT_EQ(trimmed(read_text(cpu + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(trimmed(read_text(cpu + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(trimmed(read_text("/sys/fs/cgroup/cpuset/" + cgroup_parent_ + "/" + id_ + "/cpuset.cpus")), "0");

  // SIGTERM to the launcher: forwarded, the monitor stops (its exit code 8), all is removed.
  ASSERT_TRUE(launcher->send_signal(SIGTERM).ok());
  ProcessResult run = launcher->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  EXPECT_NE(::kill(monitor, 0), 0);
  expect_nothing_left();
}

TEST_F(JailTest, HelloExitsZeroWithConsoleOnLauncherStdout) {
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(guest("hello"))), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.out.find("Hello from Bulwark test guest"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, MonitorKilledBySigkillGives137AndCleansUp) {
  auto launcher = start_spinning_vm(write_config(guest("spin")));
  ASSERT_TRUE(launcher.ok()) << launcher.error().message();
  const pid_t monitor = jailed_child_of(launcher->pid());
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);
  ProcessResult run = launcher->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 128 + SIGKILL) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, BadConfigIsRefusedBeforeAnythingIsCreated) {
  const std::string config = write_config(guest("hello"), "", ", \"bogus\": 1");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("config: /bogus: unknown field"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  EXPECT_FALSE(fs::exists(run_dir_)) << "reservations made";
  for (const char* controller : kV1Controllers) {
    EXPECT_FALSE(fs::exists(std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_));
  }
}

TEST_F(JailTest, TripleFaultingGuestGives4AndCleansUp) {
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(guest("triple_fault"))), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 4) << run.describe();
  EXPECT_NE(run.out.find("triple_fault: loading an empty IDT"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, VmIdThatCouldNameAnotherPathIsRefusedBeforeAnythingIsCreated) {
  for (const std::string bad : {"a/b", "..", "../escape", "/abs", "."}) {
    const std::string config = write_vm_config(dir_ + "/bad-id.json", guest("hello"));
    ProcessResult run = run_process(BULWARK_JAILER, run_args(config, {}, bad), {}, 30s);
    EXPECT_TRUE(run.exited && run.exit_code == 1) << bad << ": " << run.describe();
    EXPECT_NE(run.err.find("--id: expected 1 to 64 characters from [A-Za-z0-9-], got"),
              std::string::npos)
        << bad << ": " << run.describe();
  }
  EXPECT_FALSE(fs::exists(base_dir_)) << "jail base dir created";
  EXPECT_FALSE(fs::exists(dir_ + "/escape")) << "id escaped the base dir";
  EXPECT_FALSE(fs::exists(run_dir_)) << "reservations made";
  for (const char* controller : kV1Controllers) {
    EXPECT_FALSE(fs::exists(std::string("/sys/fs/cgroup/") + controller + "/" + cgroup_parent_));
  }
}

TEST_F(JailTest, CommandLineOverridesAreValidatedLikeTheConfig) {
  const std::string config = write_config(guest("hello"));
  // uid and gid are never requested, not even by the operator: always allocated.
  ProcessResult root = run_process(BULWARK_JAILER, run_args(config, {"--uid", "0"}), {}, 30s);
  EXPECT_TRUE(root.exited && root.exit_code == 1) << root.describe();
  EXPECT_NE(root.err.find("--uid: a VM's uid and gid are always allocated from the host config's id_range"),
            std::string::npos)
      << root.describe();
  ProcessResult escape = run_process(BULWARK_JAILER, run_args(config, {}, "../x"), {}, 30s);
  EXPECT_TRUE(escape.exited && escape.exit_code == 1) << escape.describe();
  EXPECT_NE(escape.err.find("--id: "), std::string::npos) << escape.describe();
  ProcessResult base = run_process(BULWARK_JAILER, run_args(config, {"--base-dir", "/a/../b"}), {}, 30s);
  EXPECT_TRUE(base.exited && base.exit_code == 1) << base.describe();
  EXPECT_NE(base.err.find("--base-dir: "), std::string::npos) << base.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  // A valid override is used: the jail appears under the overriding id.
  id_ += "-override";
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.err.find("VM " + id_ + ": monitor running"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, MissingKernelFailsItsStepAndLeavesNothing) {
  const std::string missing = dir_ + "/no-such-kernel.elf";
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(missing)), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step vm-files: \"" + missing + "\" (opened as uid "),
            std::string::npos)
      << run.describe();
  EXPECT_NE(run.err.find("): No such file or directory"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, KernelTheVmUserCannotReadIsNotExposed) {
  const std::string secret = dir_ + "/root-only.elf";
  fs::copy_file(guest("hello"), secret);
  ::chmod(secret.c_str(), 0600);
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(secret)), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step vm-files: \"" + secret + "\" (opened as uid "), std::string::npos)
      << run.describe();
  EXPECT_NE(run.err.find("Permission denied"), std::string::npos) << run.describe();
  // Nor relabelled for sVirt (the default selinux: auto labels readable inputs).
  EXPECT_FALSE(selinux_xattr(secret)) << "unreadable kernel was labelled";
  expect_nothing_left();
}

TEST_F(JailTest, KernelThatIsADirectoryIsNotExposed) {
  const std::string directory = dir_ + "/a-directory";
  fs::create_directory(directory);
  std::ofstream(directory + "/file") << "host data";
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(directory)), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step vm-files: \"" + directory +
                         "\": refused: a directory, not a regular file"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, CgroupStepFailureNamesTheStepAndLeavesNothing) {
  // CPU 4095 does not exist: the kernel refuses the cpuset after the cgroup was made.
  const std::string config = write_config(guest("hello"), ", \"cpuset\": \"4095\"");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step cgroup: "), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("cpuset.cpus"), std::string::npos) << run.describe();
  expect_nothing_left();
}

TEST_F(JailTest, SecondVmWithTheSameIdIsRefusedAndTheFirstKeepsRunning) {
  auto first = start_spinning_vm(write_config(guest("spin")));
  ASSERT_TRUE(first.ok()) << first.error().message();
  // The same VM id again, with the same ids or with allocated ones: refused before anything is
  // reserved or created, naming the launcher that holds the id.
  const std::string same_id = write_vm_config(dir_ + "/same-id.json", guest("spin"));
  for (const std::string& config : {dir_ + "/vm.json", same_id}) {
    ProcessResult second = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
    EXPECT_TRUE(second.exited && second.exit_code == 9) << second.describe();
    EXPECT_NE(second.err.find("jail step vm-id: VM id " + id_ + " is already running: held by pid " +
                              std::to_string(first->pid())),
              std::string::npos)
        << second.describe();
  }
  EXPECT_EQ(list_dir(run_dir_ + "/ids"), std::set<std::string>({std::to_string(vm_uid_) + ".lock"}))
      << "the refused launches reserved nothing";
  EXPECT_TRUE(fs::exists(base_dir_ + "/" + id_ + "/root"));
  ASSERT_TRUE(first->send_signal(SIGINT).ok());
  ProcessResult run = first->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  expect_nothing_left();
}

// A launcher killed with SIGKILL cannot tear down: its monitor dies (parent-death signal), its
// jail directory and cgroup stay. The next launch of that VM id removes them and runs.
TEST_F(JailTest, WhatAKilledLauncherLeftIsRemovedByTheNextLaunch) {
  const std::string config = write_config(guest("spin"));
  auto first = start_spinning_vm(config);
  ASSERT_TRUE(first.ok()) << first.error().message();
  const pid_t monitor = jailed_child_of(first->pid());
  ASSERT_GT(monitor, 0);
  ASSERT_TRUE(first->send_signal(SIGKILL).ok());
  first->wait(30s);
  for (int i = 0; i < 500 && ::kill(monitor, 0) == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_NE(::kill(monitor, 0), 0) << "the monitor outlived its launcher";
  ASSERT_TRUE(fs::exists(base_dir_ + "/" + id_ + "/root")) << "nothing was left to sweep";
  EXPECT_TRUE(fs::exists(cgroup_leaves().front())) << cgroup_leaves().front();
  EXPECT_NE(list_dir(run_dir_ + "/mcs"), std::set<std::string>{}) << "the MCS reservation was left";

  ProcessResult run = run_process(
      BULWARK_JAILER, run_args(write_config(guest("hello"))), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.err.find("removed " + base_dir_ + "/" + id_ + ", left by a launcher that died"),
            std::string::npos)
      << run.describe();
  EXPECT_NE(run.out.find("Hello from Bulwark test guest"), std::string::npos) << run.describe();
  expect_nothing_left();
}

// The MCS pair a VM reserved, from its lock file "cA,cB.lock" under <run>/mcs.
std::set<std::string> mcs_lock_files(const std::string& run_dir) { return list_dir(run_dir + "/mcs"); }

TEST_F(JailTest, TwoVmsWithoutIdsGetDistinctUidsGidsAndMcsPairs) {
  const std::string id_b = second_vm_id();
  auto vms = start_two_spinning_vms();
  ASSERT_TRUE(vms.ok()) << vms.error().message();
  ChildProcess &a = vms->a, &b = vms->b;
  const pid_t monitor_a = vms->monitor_a, monitor_b = vms->monitor_b;
  const std::string uid_a = status_field(monitor_a, "Uid"), uid_b = status_field(monitor_b, "Uid");
  const std::string gid_a = status_field(monitor_a, "Gid"), gid_b = status_field(monitor_b, "Gid");
  EXPECT_NE(uid_a, uid_b);
  EXPECT_NE(gid_a, gid_b);
  // Allocated from the operator's range, real = effective = saved = fs, uid == gid.
  const uint32_t first_a = static_cast<uint32_t>(std::stoul(uid_a));
  const uint32_t first_b = static_cast<uint32_t>(std::stoul(uid_b));
  for (uint32_t id : {first_a, first_b}) {
    EXPECT_GE(id, vm_uid_);
    EXPECT_LE(id, vm_uid_ + 15);
  }
  const std::string all_a = std::to_string(first_a), all_b = std::to_string(first_b);
  EXPECT_EQ(uid_a, all_a + "\t" + all_a + "\t" + all_a + "\t" + all_a);
  EXPECT_EQ(gid_b, all_b + "\t" + all_b + "\t" + all_b + "\t" + all_b);
  EXPECT_EQ(list_dir(run_dir_ + "/ids"), std::set<std::string>({all_a + ".lock", all_b + ".lock"}));

  // Two distinct MCS pairs, each of two distinct categories, and each jail labelled with its own.
  const std::set<std::string> pairs = mcs_lock_files(run_dir_);
  ASSERT_EQ(pairs.size(), 2u);
  std::set<std::string> labelled_pairs;
  for (const std::string& id : {id_, id_b}) {
    auto label = selinux_xattr(base_dir_ + "/" + id + "/root");
    if (!label) continue;  // the filesystem of dir_ takes no labels (the auto test checks it)
    std::smatch m;
    const std::string text = label->substr(0, label->find('\0'));
    ASSERT_TRUE(std::regex_match(text, m, std::regex(R"(.*:s0:(c\d+,c\d+))"))) << text;
    labelled_pairs.insert(m[1].str() + ".lock");
  }
  if (!labelled_pairs.empty()) {
    EXPECT_EQ(labelled_pairs, pairs);
  }

  ASSERT_TRUE(a.send_signal(SIGINT).ok());
  ASSERT_TRUE(b.send_signal(SIGINT).ok());
  ProcessResult end_a = a.wait(30s), end_b = b.wait(30s);
  EXPECT_TRUE(end_a.exited && end_a.exit_code == 8) << end_a.describe();
  EXPECT_TRUE(end_b.exited && end_b.exit_code == 8) << end_b.describe();
  expect_nothing_left();
  expect_nothing_left(id_b);
}

TEST_F(JailTest, SelinuxEnforceIsRefusedOnThisHostBeforeAnythingIsCreated) {
  if (fs::exists("/sys/fs/selinux/enforce")) GTEST_SKIP() << "SELinux is enabled on this host";
  write_host_config(", \"selinux\": \"enforce\"");
  const std::string config = write_vm_config(dir_ + "/enforce.json", guest("spin"));
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("jail step selinux: "), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("SELinux is not enabled on this host"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_)) << "jail base dir created";
  EXPECT_FALSE(fs::exists(run_dir_)) << "reservations made";
  for (const std::string& leaf : cgroup_leaves()) EXPECT_FALSE(fs::exists(leaf)) << leaf;

  // The same through the command line, over a config that says auto.
  write_host_config();
  const std::string auto_config = write_vm_config(dir_ + "/auto.json", guest("spin"));
  run = run_process(BULWARK_JAILER, run_args(auto_config, {"--selinux", "enforce"}), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("SELinux"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  EXPECT_FALSE(fs::exists(run_dir_));
}

TEST_F(JailTest, SelinuxAutoLabelsTheJailWhileTheVmRunsAndRestoresAfter) {
  {
    // dir_ lives under the temp directory; it must take security.selinux xattrs.
    const std::string probe = dir_ + "/probe";
    std::ofstream(probe) << "x";
    static const char kLabel[] = "system_u:object_r:tmp_t:s0";
    if (::lsetxattr(probe.c_str(), "security.selinux", kLabel, sizeof kLabel, 0) != 0) {
      GTEST_SKIP() << dir_ << " takes no security.selinux xattr";
    }
    fs::remove(probe);
  }
  // A private copy of the kernel, so no other test's VM shares (and labels) it.
  const std::string kernel = dir_ + "/spin.elf";
  fs::copy_file(guest("spin"), kernel);
  fs::permissions(kernel, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  ASSERT_FALSE(selinux_xattr(kernel)) << "fresh copy already labelled";
  const std::string config = write_vm_config(dir_ + "/auto.json", kernel);
  auto vm = start_spinning_vm(config);
  ASSERT_TRUE(vm.ok()) << vm.error().message();

  const std::string jail = base_dir_ + "/" + id_;
  // Everything the launcher made in the jail is jail-typed at the VM's pair, from its creation:
  // the directories, the intermediate ones (/usr, /vm), the loader's symlinks and vm.json.
  for (const std::string& path : {jail, jail + "/root", jail + "/root/usr", jail + "/root/vm",
                                  jail + "/root/vm/kernel", jail + "/root/lib64", jail + "/root/vm.json"}) {
    if (!fs::exists(fs::symlink_status(path))) continue;  // a layout without it (no /lib64 here)
    auto label = selinux_xattr(path);
    ASSERT_TRUE(label) << path << " carries no security.selinux";
    std::smatch m;
    ASSERT_TRUE(std::regex_match(*label, m,
                                 std::regex(std::string("system_u:object_r:bulwark_jail_t") +
                                            R"(:s0:c(\d+),c(\d+))" + '\0')))
        << path << ": " << *label;
    const int low = std::stoi(m[1].str()), high = std::stoi(m[2].str());
    EXPECT_LT(low, high);
    EXPECT_EQ(mcs_lock_files(run_dir_),
              std::set<std::string>({"c" + m[1].str() + ",c" + m[2].str() + ".lock"}));
  }
  EXPECT_FALSE(selinux_xattr(base_dir_)) << "the operator's base dir was relabelled";
  EXPECT_EQ(selinux_xattr(kernel), std::string("system_u:object_r:bulwark_content_t:s0") + '\0');
  // Label memory on the kernel: no original label, this VM its one (shared, read-only) user.
  char record[512];
  const ssize_t n = ::lgetxattr(kernel.c_str(), "trusted.bulwark.label", record, sizeof record);
  ASSERT_GT(n, 0) << "no label memory on the kernel";
  EXPECT_NE(std::string(record, static_cast<size_t>(n)).find("\noriginal=\n"), std::string::npos);
  EXPECT_NE(std::string(record, static_cast<size_t>(n)).find("\nuser=" + id_ + " ro-shared\n"),
            std::string::npos);

  ASSERT_TRUE(vm->send_signal(SIGTERM).ok());
  ProcessResult run = vm->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  // auto on a host without SELinux says the VM ran unconfined.
  EXPECT_NE(run.err.find("SELinux is NOT enabled on this host"), std::string::npos) << run.describe();
  EXPECT_FALSE(selinux_xattr(kernel)) << "kernel label not restored";
  EXPECT_LT(::lgetxattr(kernel.c_str(), "trusted.bulwark.label", record, sizeof record), 0)
      << "label memory left on the kernel";
  expect_nothing_left();
}

TEST_F(JailTest, SelinuxOffLabelsNothingAndReservesNoPair) {
  const std::string kernel = dir_ + "/hello.elf";
  fs::copy_file(guest("hello"), kernel);
  fs::permissions(kernel, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  write_host_config(", \"selinux\": \"off\"");
  const std::string config = write_vm_config(dir_ + "/off.json", kernel);
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_EQ(run.err.find("SELinux is NOT enabled"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("sVirt off"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(run_dir_ + "/mcs"));
  EXPECT_FALSE(selinux_xattr(kernel));
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test

namespace bulwark::test {
namespace {

// A real monitor that makes a call outside its policy: the operator's policy here lacks `poll`,
// which the monitor's main thread needs once the vCPUs run. The launcher names the call.
TEST_F(JailTest, SeccompKillIsReportedWithTheSyscallName) {
  const std::string policy_dir = dir_ + "/policy";
  fs::create_directories(policy_dir);
  for (const auto& entry : fs::directory_iterator(BULWARK_POLICY_DIR)) {
    if (entry.path().extension() == ".policy") fs::copy_file(entry.path(), policy_dir + "/" + entry.path().filename().string());
  }
  // `poll` is in the main thread's file or the shared one: take it out of whichever has it.
  bool removed = false;
  for (const char* file : {"/monitor-main.policy", "/monitor-common.policy"}) {
    std::string text = read_text(policy_dir + file);
    const size_t line = text.find("\npoll ");
    if (line == std::string::npos) continue;
    text.erase(line + 1, text.find('\n', line + 1) - line);
    std::ofstream(policy_dir + file) << text;
    removed = true;
  }
  ASSERT_TRUE(removed) << "no poll line in the monitor's policies";

  // The kernel prints audit records through a rate limit (10 per 5 s without auditd): when other
  // tests' seccomp kills used it up, the launcher says the record is missing. Try again once the
  // limit has refilled; a launcher that names the wrong call, or none, still fails.
  ProcessResult run;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(6s);
    run = run_process(BULWARK_JAILER,
                      run_args(write_config(guest("spin")), {"--seccomp-policy-dir", policy_dir}),
                      {}, 60s);
    if (run.err.find("no audit record of the kill") == std::string::npos) break;
  }
  EXPECT_TRUE(run.exited && run.exit_code == 128 + SIGSYS) << run.describe();
  EXPECT_NE(run.err.find("monitor killed by seccomp (SIGSYS): system call poll (7)"), std::string::npos)
      << run.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test

namespace bulwark::test {
namespace {

// The operator names the sVirt types (the policy module may be installed under other names);
// a malformed name is refused before anything is created.
TEST_F(JailTest, SelinuxTypeNamesComeFromTheOperator) {
  const std::string probe = dir_ + "/probe";
  std::ofstream(probe) << "x";
  static const char kLabel[] = "system_u:object_r:tmp_t:s0";
  if (::lsetxattr(probe.c_str(), "security.selinux", kLabel, sizeof kLabel, 0) != 0) {
    GTEST_SKIP() << dir_ << " takes no security.selinux xattr";
  }
  const std::string kernel = dir_ + "/spin.elf";
  fs::copy_file(guest("spin"), kernel);
  fs::permissions(kernel, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string config = write_vm_config(dir_ + "/types.json", kernel);

  ProcessResult bad = run_process(BULWARK_JAILER, run_args(config, {"--selinux-types", "image=bad:type"}), {}, 30s);
  EXPECT_TRUE(bad.exited && bad.exit_code == 1) << bad.describe();
  EXPECT_NE(bad.err.find("--selinux-types: "), std::string::npos) << bad.describe();
  expect_nothing_left();

  auto vm = start_spinning_vm(
      config, {"--selinux-types", "image=tenant_disk_t,content=tenant_ro_t,jail=tenant_jail_t"});
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  auto label = selinux_xattr(base_dir_ + "/" + id_ + "/root");
  ASSERT_TRUE(label);
  EXPECT_TRUE(std::regex_match(*label, std::regex(std::string(R"(system_u:object_r:tenant_jail_t:s0:c\d+,c\d+)") + '\0')))
      << *label;
  EXPECT_EQ(selinux_xattr(kernel), std::string("system_u:object_r:tenant_ro_t:s0") + '\0');
  ASSERT_TRUE(vm->send_signal(SIGTERM).ok());
  ProcessResult run = vm->wait(30s);
  EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
  EXPECT_FALSE(selinux_xattr(kernel)) << "the kernel's original (absent) label was not restored";
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
