// The sweep after a killed launcher (stale_vm.h) as root, without KVM: it removes what the dead
// launch's record names where the operator's settings agree, and nothing else -- not a
// look-alike jail directory or cgroup, not a path outside those settings, not a jail whose root
// another uid owns -- and it signals only processes in recorded cgroups. It repairs the label
// memory of the files the dead launch relabelled (count and label), by path then dev/inode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jailer/net/tap_device.h"
#include "jailer/stale_vm.h"
#include "jailer/svirt/label_memory.h"

namespace bulwark::jail {
namespace {

namespace fs = std::filesystem;

class SweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    tag_ = std::to_string(::getpid());
    dir_ = fs::temp_directory_path() / ("bulwark-sweep-test-" + tag_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    base_ = dir_ + "/srv";
    run_ = dir_ + "/run";
    parent_ = "bulwark-sweep-test-" + tag_;
    id_ = "vm" + tag_;
    cgroup_root_ = "/sys/fs/cgroup";
    have_pids_v1_ = fs::exists(cgroup_root_ + "/pids/cgroup.procs");
  }
  void TearDown() override {
    for (pid_t pid : processes_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    for (auto it = cgroups_.rbegin(); it != cgroups_.rend(); ++it) ::rmdir(it->c_str());
    ::rmdir((cgroup_root_ + "/pids/" + parent_).c_str());
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A jail directory as the jail makes it: root's, with a root/ owned by `uid`.
  std::string make_jail(const std::string& name, uid_t uid) {
    const std::string jail = base_ + "/" + name;
    fs::create_directories(jail + "/root");
    EXPECT_EQ(::chown((jail + "/root").c_str(), uid, uid), 0);
    std::ofstream(jail + "/root/vm.json") << "{}";
    return jail;
  }
  // A pids cgroup leaf <parent>/<name> holding a sleeping process.
  std::pair<std::string, pid_t> make_cgroup_with_process(const std::string& name) {
    const std::string leaf = cgroup_root_ + "/pids/" + parent_ + "/" + name;
    fs::create_directories(leaf);
    cgroups_.push_back(leaf);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    processes_.push_back(pid);
    std::ofstream(leaf + "/cgroup.procs") << pid;
    return {leaf, pid};
  }
  void write_record(const LaunchRecord& record) {
    fs::create_directories(run_ + "/vms");
    fs::permissions(run_ + "/vms", fs::perms::owner_all);
    std::ofstream(run_ + "/vms/" + id_ + ".record") << format_launch_record(record);
  }
  VmPlaces places() const { return vm_places(base_, cgroup_root_, parent_, id_); }
  static bool alive(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0;
  }

  std::string tag_, dir_, base_, run_, parent_, id_, cgroup_root_;
  bool have_pids_v1_ = false;
  std::vector<pid_t> processes_;
  std::vector<std::string> cgroups_;
};

TEST_F(SweepTest, RemovesWhatTheRecordNamesAndLeavesLookAlikes) {
  constexpr uid_t kUid = 41000;
  const std::string monitor_jail = make_jail(id_, kUid);
  const std::string rng_jail = make_jail(id_ + ".rng", kUid);
  const std::string lookalike = make_jail(id_ + ".blk3", kUid);  // no record names it
  LaunchRecord record{kUid, {monitor_jail, rng_jail}, {}, {}, {}};
  pid_t recorded_pid = -1, lookalike_pid = -1;
  std::string recorded_leaf, lookalike_leaf;
  if (have_pids_v1_) {
    std::tie(recorded_leaf, recorded_pid) = make_cgroup_with_process(id_);
    std::tie(lookalike_leaf, lookalike_pid) = make_cgroup_with_process(id_ + ".blk3");
    record.cgroup_dirs.push_back(recorded_leaf);
  }
  write_record(record);

  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_FALSE(fs::exists(monitor_jail));
  EXPECT_FALSE(fs::exists(rng_jail));
  EXPECT_TRUE(fs::exists(lookalike + "/root/vm.json")) << "a jail no record names was removed";
  EXPECT_FALSE(fs::exists(run_ + "/vms/" + id_ + ".record")) << "the record outlived its sweep";
  if (have_pids_v1_) {
    EXPECT_FALSE(fs::exists(recorded_leaf));
    EXPECT_FALSE(alive(recorded_pid)) << "the recorded cgroup's process survived";
    EXPECT_TRUE(fs::exists(lookalike_leaf)) << "a cgroup no record names was removed";
    EXPECT_TRUE(alive(lookalike_pid)) << "a process in a cgroup no record names was killed";
  }
  EXPECT_EQ(report->removed.size(), have_pids_v1_ ? 3u : 2u);
}

// A record that names what the operator's settings do not put there (another base dir, another
// cgroup parent: what a tampered or stale record could say) is reported, never acted on.
TEST_F(SweepTest, PathsOutsideTheOperatorsSettingsAreLeftAlone) {
  constexpr uid_t kUid = 41001;
  const std::string victim = dir_ + "/var/lib";
  fs::create_directories(victim + "/root");
  ASSERT_EQ(::chown((victim + "/root").c_str(), kUid, kUid), 0);
  LaunchRecord record{kUid, {victim}, {}, {}, {}};
  pid_t victim_pid = -1;
  if (have_pids_v1_) {
    auto [leaf, pid] = make_cgroup_with_process("service");
    victim_pid = pid;
    record.cgroup_dirs.push_back(leaf);
  }
  write_record(record);
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(fs::exists(victim + "/root"));
  EXPECT_TRUE(report->removed.empty());
  EXPECT_EQ(report->left_alone.size(), have_pids_v1_ ? 2u : 1u);
  EXPECT_NE(report->left_alone.front().find("not where the operator's settings put VM"), std::string::npos);
  if (have_pids_v1_) {
    EXPECT_TRUE(alive(victim_pid));
  }
}

TEST_F(SweepTest, AJailWhoseRootAnotherUidOwnsIsLeftAlone) {
  const std::string jail = make_jail(id_, 41002);
  write_record(LaunchRecord{41003, {jail}, {}, {}, {}});
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(fs::exists(jail + "/root/vm.json"));
  ASSERT_EQ(report->left_alone.size(), 1u);
  EXPECT_NE(report->left_alone[0].find("its root is owned by uid 41002, the record says 41003"),
            std::string::npos)
      << report->left_alone[0];
  // A symlink where the jail should be is not followed.
  fs::remove_all(jail);
  const std::string target = dir_ + "/elsewhere";
  fs::create_directories(target + "/root");
  fs::create_directory_symlink(target, jail);
  write_record(LaunchRecord{41003, {jail}, {}, {}, {}});
  report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(fs::exists(target + "/root"));
  EXPECT_NE(report->left_alone.at(0).find("not a directory"), std::string::npos);
}

// The jail directory itself must be root's: one the VM user (or anyone else) owns could have
// been arranged by them, so the sweep leaves it, even with the record's uid on its root.
TEST_F(SweepTest, AJailDirectoryNotOwnedByRootIsLeftAlone) {
  const std::string jail = make_jail(id_, 41005);
  ASSERT_EQ(::chown(jail.c_str(), 41005, 41005), 0);
  write_record(LaunchRecord{41005, {jail}, {}, {}, {}});
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(fs::exists(jail + "/root/vm.json"));
  ASSERT_EQ(report->left_alone.size(), 1u);
  EXPECT_NE(report->left_alone[0].find("not owned by root"), std::string::npos) << report->left_alone[0];
}

TEST_F(SweepTest, NoRecordMeansNothingIsRemoved) {
  const std::string jail = make_jail(id_, 41004);
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->removed.empty());
  EXPECT_TRUE(fs::exists(jail + "/root"));
}

TEST_F(SweepTest, ARecordFileNamesEachThingAndGoesAwayWithItsLaunch) {
  const std::string path = run_ + "/vms/" + id_ + ".record";
  {
    auto record = LaunchRecordFile::create(run_, id_, 41005);
    ASSERT_TRUE(record.ok()) << record.error().message();
    auto hook = record->hook();
    ASSERT_TRUE(hook("jail", base_ + "/" + id_).ok());
    ASSERT_TRUE(hook("cgroup", cgroup_root_ + "/pids/" + parent_ + "/" + id_).ok());
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    auto parsed = parse_launch_record(text.str());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(*parsed, (LaunchRecord{41005, {base_ + "/" + id_}, {cgroup_root_ + "/pids/" + parent_ + "/" + id_}, {}, {}}));
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace bulwark::jail

#include "jailer/monitor_spec.h"

namespace bulwark::jail {
namespace {

// Every limit the jail sets must fit what a VM config may ask for: the guest-RAM memfd is sized
// with ftruncate, which RLIMIT_FSIZE caps (a 1 GiB cap once made every VM above 1 GiB fail).
TEST(MonitorSpecLimits, FileSizeAndMemoryLimitsFitTheGuestRam) {
  for (uint64_t mib : {64u, 2048u, 4096u, 8192u}) {
    LaunchConfig config;
    config.vm.kernel = "/k";
    config.vm.memory_mib = mib;
    config.jail.id = "vm";
    const JailSpec spec = build_monitor_spec(config, MonitorLaunchOptions{});
    EXPECT_GE(spec.rlimits.fsize, mib << 20) << mib;
    EXPECT_EQ(spec.limits.memory_bytes, (mib + config.jail.memory_overhead_mib) << 20) << mib;
  }
}

const std::string kImage = "system_u:object_r:bulwark_image_t:s0:c1,c2";
const std::string kShared = "system_u:object_r:bulwark_content_t:s0";

std::string selinux_label(const std::string& path) {
  char buf[256];
  const ssize_t n = ::lgetxattr(path.c_str(), "security.selinux", buf, sizeof buf);
  return n < 0 ? "(none)" : std::string(buf, static_cast<size_t>(n) - (n > 0 && buf[n - 1] == 0));
}
void set_selinux_label(const std::string& path, const std::string& context) {
  const std::string value = context + '\0';
  ASSERT_EQ(::lsetxattr(path.c_str(), "security.selinux", value.data(), value.size(), 0), 0);
}
std::optional<std::string> label_record(const std::string& path) {
  char buf[4096];
  const ssize_t n = ::lgetxattr(path.c_str(), jailer::kLabelRecordXattr, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

class LabelSweepTest : public SweepTest {
 protected:
  void SetUp() override {
    SweepTest::SetUp();
    if (IsSkipped()) return;
    image_ = dir_ + "/disk.img";
    shared_ = dir_ + "/base.img";
    std::ofstream(image_) << "image";
    std::ofstream(shared_) << "base";
    if (::lsetxattr(image_.c_str(), jailer::kLabelRecordXattr, "x", 1, 0) != 0)
      GTEST_SKIP() << "this filesystem keeps no trusted.* xattrs";
    ::lremovexattr(image_.c_str(), jailer::kLabelRecordXattr);
    set_selinux_label(image_, "system_u:object_r:var_t:s0");
    set_selinux_label(shared_, "system_u:object_r:user_home_t:s0");
  }
  // A launcher of id_ that records and relabels `files` (path, context, access), then is killed
  // (nothing released: _exit skips every destructor).
  void killed_launch(const std::vector<std::tuple<std::string, std::string, jailer::LabelAccess>>& files) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto claim = claim_vm_id(run_, id_);
      auto record = LaunchRecordFile::create(run_, id_, 41010);
      if (!claim.ok() || !record.ok()) ::_exit(2);
      auto* labels = new jailer::LabelMemory(run_, id_);
      LaunchRecordFile* file = &*record;
      labels->set_record_hook([file](const jailer::LabelledFile& f) {
        return file->add_label({f.dev, f.ino, f.path});
      });
      for (const auto& [path, context, access] : files) {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!labels->acquire(fd.get(), path, context, access).ok()) ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  jailer::HostReservation running(const std::string& vm) {
    auto dir = jailer::ReservationDirectory::open_or_create(run_ + "/vms");
    EXPECT_TRUE(dir.ok());
    auto claimed = jailer::HostReservation::try_claim(*dir, vm + ".lock", vm);
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    return std::move(**claimed);
  }
  std::string image_, shared_;
};

// A launcher killed while its VM ran leaves its VM in the files' label memory; the next launch of
// that id drops it, restores the file it was the last user of and leaves the shared one, still
// used by another running VM, labelled for it.
TEST_F(LabelSweepTest, AKilledLaunchersLabelCountAndLabelAreRepaired) {
  auto other_running = running("other-" + tag_);
  jailer::LabelMemory other(run_, "other-" + tag_);
  {
    UniqueFd fd(::open(shared_.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(other.acquire(fd.get(), "base", kShared, jailer::LabelAccess::kReadOnlyShared).ok());
  }
  killed_launch({{image_, kImage, jailer::LabelAccess::kReadWrite},
                 {shared_, kShared, jailer::LabelAccess::kReadOnlyShared}});
  ASSERT_EQ(selinux_label(image_), kImage);
  ASSERT_NE(label_record(shared_)->find("user=" + id_ + " ro-shared"), std::string::npos);

  auto claim = claim_vm_id(run_, id_);  // as the next launch does before its sweep
  ASSERT_TRUE(claim.ok()) << claim.error().message();
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->labels_repaired.size(), 2u);
  for (const std::string& why : report->left_alone) ADD_FAILURE() << why;
  EXPECT_EQ(selinux_label(image_), "system_u:object_r:var_t:s0");
  EXPECT_FALSE(label_record(image_).has_value());
  EXPECT_EQ(selinux_label(shared_), kShared) << "restored while another VM uses it";
  auto parsed = jailer::parse_label_record(label_record(shared_).value_or(""));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->users, (std::vector<jailer::LabelUser>{
                               {"other-" + tag_, jailer::LabelAccess::kReadOnlyShared}}));
  ASSERT_TRUE(other.release_all().ok());
  EXPECT_EQ(selinux_label(shared_), "system_u:object_r:user_home_t:s0");
}

// The recorded path now leads to another file (the tenant renamed theirs away and put another
// there): the sweep leaves it untouched, even when its record names the dead VM.
TEST_F(LabelSweepTest, AFileReplacedAtTheRecordedPathIsLeftUntouched) {
  killed_launch({{image_, kImage, jailer::LabelAccess::kReadWrite}});
  fs::rename(image_, image_ + ".moved");
  std::ofstream(image_) << "another file";
  set_selinux_label(image_, kImage);
  const std::string forged = "bulwark-label 1\noriginal=system_u:object_r:shadow_t:s0\nlabel=" +
                             kImage + "\nuser=" + id_ + " rw\n";
  ASSERT_EQ(::lsetxattr(image_.c_str(), jailer::kLabelRecordXattr, forged.data(), forged.size(), 0), 0);

  auto claim = claim_vm_id(run_, id_);
  ASSERT_TRUE(claim.ok()) << claim.error().message();
  auto report = sweep_recorded_leftovers(run_, id_, places());
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->labels_repaired.empty());
  ASSERT_EQ(report->left_alone.size(), 1u);
  EXPECT_NE(report->left_alone[0].find("label memory left untouched: another file now"),
            std::string::npos)
      << report->left_alone[0];
  EXPECT_EQ(selinux_label(image_), kImage);
  EXPECT_EQ(label_record(image_), forged);
}

// TAPs: a recorded TAP something still holds (here the test, as a surviving device process
// would) is deleted only where the operator's settings put this VM's TAPs and only while its
// name still has the recorded ifindex.
TEST_F(SweepTest, ARecordedTapIsDeletedOnlyWhereTheOperatorPutsTapsAndWithItsIndex) {
  const std::string ns = "bwsw-" + tag_;
  ASSERT_EQ(std::system(("ip netns add " + ns).c_str()), 0);
  struct NamespaceGuard {
    std::string name;
    ~NamespaceGuard() { std::system(("ip netns del " + name).c_str()); }
  } guard{ns};
  auto make = [&](const std::string& name) {
    TapRequest request;
    request.netns = ns;
    request.name = name;
    request.uid = request.gid = 41007;
    auto tap = create_tap(request);
    EXPECT_TRUE(tap.ok()) << tap.error().message();
    return tap.ok() ? std::move(*tap) : Tap{};
  };
  auto exists = [&](const std::string& name) {
    return std::system(("ip -n " + ns + " link show dev " + name + " >/dev/null 2>&1").c_str()) == 0;
  };
  Tap ours = make("bw41007n0");
  Tap other_index = make("bw41007n1");
  Tap foreign_name = make("xx41007n0");
  VmPlaces where = places();
  where.tap_netns = ns;
  where.tap_prefix = "bw";
  LaunchRecord record{41007, {}, {}, {}, {{ours.ifindex, ours.name, ns},
                                         {other_index.ifindex + 1000, other_index.name, ns},
                                         {foreign_name.ifindex, foreign_name.name, ns},
                                         {ours.ifindex, ours.name, "elsewhere"}}};
  write_record(record);
  auto report = sweep_recorded_leftovers(run_, id_, where);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_FALSE(exists("bw41007n0")) << "the recorded TAP is still there";
  EXPECT_TRUE(exists("bw41007n1")) << "a TAP whose index is not the recorded one was deleted";
  EXPECT_TRUE(exists("xx41007n0")) << "a TAP not named as the operator names them was deleted";
  ASSERT_EQ(report->removed.size(), 1u);
  EXPECT_EQ(report->removed[0], "TAP \"bw41007n0\" in netns \"" + ns + "\"");
  ASSERT_EQ(report->left_alone.size(), 2u);
  EXPECT_NE(report->left_alone[0].find("xx41007n0"), std::string::npos);
  EXPECT_NE(report->left_alone[1].find("elsewhere"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::jail
