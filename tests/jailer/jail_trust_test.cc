// Issue 9 from a hostile tenant's side, through the real launcher: what only the operator may
// choose is never taken from a VM config, the operator's own file is checked, the sweep after a
// killed launcher removes exactly what that launch recorded, and limits fit what a VM may ask.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

// A process that sleeps until killed, for "still alive afterwards" checks.
pid_t start_victim_process() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

void stop_victim_process(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

bool alive(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0 && ::kill(pid, 0) == 0;
}

// Cases 1 to 3 of issue 9: a VM config that names where to delete, whom to kill, which ids to
// use or which limits and network to get is refused by name, and the victims are untouched.
TEST_F(LauncherRefusalTest, OperatorFieldsInAVmConfigAreRefusedAndNothingOutsideChanges) {
  // Case 1's victims: a directory a jail path could name, and a process in a cgroup a sweep
  // could name.
  const std::string victim_base = dir_ + "/var";
  fs::create_directories(victim_base + "/lib");
  std::ofstream(victim_base + "/lib/keep") << "host data";
  const std::string victim_parent = cgroup_parent_ + "-victim";
  const std::string victim_cgroup = "/sys/fs/cgroup/pids/" + victim_parent + "/lib";
  fs::create_directories(victim_cgroup);
  const pid_t victim = start_victim_process();
  ASSERT_GT(victim, 0);
  std::ofstream(victim_cgroup + "/cgroup.procs") << victim;

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"jail", R"("jail": {"id": "lib", "base_dir": ")" + victim_base + R"(", "cgroup_parent": ")" +
                   victim_parent + R"("})"},
      {"base_dir", R"("base_dir": ")" + victim_base + "\""},
      {"cgroup_parent", R"("cgroup_parent": ")" + victim_parent + "\""},
      {"id", R"("id": "lib")"},
      {"uid", R"("uid": 1000)"},
      {"gid", R"("gid": 42, "initrd": "/etc/shadow")"},
      {"netns", R"("netns": "host")"},
      {"cpuset", R"("cpuset": "0-1")"},
      {"cpu_quota_percent", R"("cpu_quota_percent": 0)"},
      {"pids_max", R"("pids_max": 65536)"},
      {"memory_overhead_mib", R"("memory_overhead_mib": 65536)"},
      {"selinux", R"("selinux": "off")"},
      {"seccomp", R"("seccomp": "off")"},
  };
  for (const auto& [field, fields] : cases) {
    const std::string config = write_config(guest("hello"), "", ", " + fields);
    ProcessResult run = run_process(BULWARK_JAILER, run_args(config, {}, "lib"), {}, 30s);
    EXPECT_TRUE(run.exited && run.exit_code == 1) << field << ": " << run.describe();
    EXPECT_NE(run.err.find("config: /" + field + ": an operator setting; a VM config may not set it"),
              std::string::npos)
        << field << ": " << run.describe();
  }
  EXPECT_EQ(read_text(victim_base + "/lib/keep"), "host data");
  EXPECT_TRUE(alive(victim)) << "the victim process was killed";
  EXPECT_TRUE(fs::exists(victim_cgroup));
  EXPECT_FALSE(fs::exists(base_dir_)) << "a refused launch created its jail base";
  EXPECT_FALSE(fs::exists(run_dir_)) << "a refused launch made reservations";
  stop_victim_process(victim);
  ::rmdir(victim_cgroup.c_str());
  ::rmdir(("/sys/fs/cgroup/pids/" + victim_parent).c_str());
}

TEST_F(LauncherRefusalTest, RequestsAboveTheOperatorsCeilingsAreRefusedNamingTheCeiling) {
  const std::string config = write_config(guest("hello"), ", \"max_memory_mib\": 128", ", \"vcpus\": 2");
  std::string text = read_text(config);
  std::ofstream(config) << text.replace(text.find("\"memory_mib\": 64"), 16, "\"memory_mib\": 256");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("config: /memory_mib: 256 is above the operator's ceiling 128 "
                         "(vm_limits.max_memory_mib)"),
            std::string::npos)
      << run.describe();
  write_host_config("", ", \"max_vcpus\": 1");
  run = run_process(BULWARK_JAILER, run_args(write_vm_config(dir_ + "/vm2.json", guest("hello"), ", \"vcpus\": 2")), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("config: /vcpus: 2 is above the operator's ceiling 1 (vm_limits.max_vcpus)"),
            std::string::npos)
      << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
  EXPECT_FALSE(fs::exists(run_dir_));
}

TEST_F(LauncherRefusalTest, AHostConfigOthersCouldWriteIsRefused) {
  const std::string config = write_config(guest("hello"));
  ::chmod(host_config_path().c_str(), 0666);
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("is writable by group or others"), std::string::npos) << run.describe();
  ::chmod(host_config_path().c_str(), 0644);
  ASSERT_EQ(::chown(host_config_path().c_str(), 65534, 65534), 0);
  run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("is owned by uid 65534, not root"), std::string::npos) << run.describe();
  // Named explicitly, a missing host config is an error, not the defaults.
  run = run_process(BULWARK_JAILER, {"run", "--host-config", dir_ + "/none.json", "--id", id_, config}, {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("No such file or directory"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
}

TEST_F(LauncherRefusalTest, AFifoAsTheVmConfigIsRefusedWithoutBlocking) {
  write_host_config();
  const std::string fifo = dir_ + "/vm-fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ProcessResult run = run_process(BULWARK_JAILER, run_args(fifo), {}, 20s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("is a FIFO, not a regular file"), std::string::npos) << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_));
}

// A launch whose operator settings do not list a network namespace cannot join it, whatever
// the flag says.
TEST_F(LauncherRefusalTest, AnUnlistedNetworkNamespaceIsRefused) {
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(guest("hello")), {"--netns", "host-net"}), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 1) << run.describe();
  EXPECT_NE(run.err.find("--netns: \"host-net\" is not among the host config's network_namespaces"),
            std::string::npos)
      << run.describe();
}

// What a killed launcher made (its monitor's jail and cgroup, a device's jail and cgroup) is
// removed by the next launch of that id even when that launch has no such device; look-alikes
// no record names, where a sweep by name would have reached, are left alone with their process.
TEST_F(JailTest, TheSweepRemovesWhatTheRecordNamesAndNothingElse) {
  const std::string config = write_config(guest("spin"), "", ", \"rng\": true");
  auto first = start_spinning_vm(config);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(fs::exists(base_dir_ + "/" + id_ + ".rng/root"));
  // Look-alikes: a device jail this VM never had, owned like one, and a cgroup leaf of that name
  // holding a process.
  const std::string lookalike = base_dir_ + "/" + id_ + ".blk3";
  fs::create_directories(lookalike + "/root");
  ASSERT_EQ(::chown((lookalike + "/root").c_str(), vm_uid_, vm_uid_), 0);
  const std::string lookalike_cgroup = "/sys/fs/cgroup/pids/" + cgroup_parent_ + "/" + id_ + ".blk3";
  fs::create_directories(lookalike_cgroup);
  const pid_t victim = start_victim_process();
  std::ofstream(lookalike_cgroup + "/cgroup.procs") << victim;

  ASSERT_TRUE(first->send_signal(SIGKILL).ok());
  first->wait(30s);
  const std::string record = run_dir_ + "/vms/" + id_ + ".record";
  ASSERT_TRUE(fs::exists(record)) << "the killed launcher left no record";
  const std::string recorded = read_text(record);
  EXPECT_NE(recorded.find("jail=" + base_dir_ + "/" + id_ + ".rng\n"), std::string::npos) << recorded;
  EXPECT_EQ(recorded.find(".blk3"), std::string::npos) << recorded;

  // Relaunched without the rng: its leftovers go all the same.
  ProcessResult run = run_process(BULWARK_JAILER, run_args(write_config(guest("hello"))), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.err.find("removed " + base_dir_ + "/" + id_ + ".rng, left by a launcher that died"),
            std::string::npos)
      << run.describe();
  EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_ + ".rng"));
  for (const std::string& leaf : cgroup_leaves(id_ + ".rng")) EXPECT_FALSE(fs::exists(leaf)) << leaf;
  EXPECT_TRUE(fs::exists(lookalike + "/root")) << "a directory no record names was removed";
  EXPECT_TRUE(fs::exists(lookalike_cgroup)) << "a cgroup no record names was removed";
  EXPECT_TRUE(alive(victim)) << "a process in a cgroup no record names was killed";
  stop_victim_process(victim);
  ::rmdir(lookalike_cgroup.c_str());
  fs::remove_all(lookalike);
  expect_nothing_left();
}

// The jail's RLIMIT_FSIZE once capped the guest-RAM memfd at 1 GiB: every limit must fit what a
// VM may ask for.
TEST_F(JailTest, AFourGibVmRunsJailed) {
  const std::string config = write_config(guest("hello"), "", "");
  std::string text = read_text(config);
  std::ofstream(config) << text.replace(text.find("\"memory_mib\": 64"), 16, "\"memory_mib\": 4096");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.out.find("Hello from Bulwark test guest"), std::string::npos) << run.describe();
  expect_nothing_left();
}


TEST_F(LauncherRefusalTest, ADiskAboveTheOperatorsSizeCeilingIsRefused) {
  const std::string image = dir_ + "/big.raw";
  std::ofstream(image).close();
  fs::resize_file(image, (uint64_t{2} << 20) + 512);
  ::chmod(image.c_str(), 0666);
  const std::string config =
      write_config(guest("hello"), ", \"max_disk_size_mib\": 2", ", \"disks\": [{\"path\": \"" + image + "\"}]");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 30s);
  EXPECT_TRUE(run.exited && run.exit_code == 9) << run.describe();
  EXPECT_NE(run.err.find("/disks/0/path: \"" + image + "\" is 2097664 bytes, above the operator's "
                         "ceiling 2 MiB (vm_limits.max_disk_size_mib)"),
            std::string::npos)
      << run.describe();
  expect_nothing_left();
}


// The operator's pids limit leaves no room for the vCPU threads: the monitor names the resource
// and exits with its documented code, never dies of a signal; the jail is torn down.
TEST_F(JailTest, APidsLimitTooSmallForTheVcpusIsAClearErrorNotASignal) {
  const std::string config = write_config(guest("smp"), ", \"pids_max\": 2", ", \"vcpus\": 4");
  ProcessResult run = run_process(BULWARK_JAILER, run_args(config), {}, 60s);
  EXPECT_TRUE(run.exited && run.exit_code == 10) << run.describe();
  EXPECT_NE(run.err.find("resource exhausted: threads"), std::string::npos) << run.describe();
  EXPECT_EQ(run.err.find("killed by signal"), std::string::npos) << run.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
