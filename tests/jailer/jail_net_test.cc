// `bulwark run` with a NIC, end to end on a host without KVM: the real launcher reads the
// operator's "net" and the tenant's "nets", makes the TAP in a network namespace the test
// created, starts the jailed bulwark-dev-net on it, and hands the monitor's jail its socket; a
// stand-in monitor (net_standin_monitor.cc) plays the guest's driver over that socket. The test
// stands in the namespace: it sees the guest's honest frames and never its spoofed one, answers,
// and after the VM ends finds the TAP gone. Root needed; KVM not.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "tests/devices/net_test_guest.h"
#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

const Mac kVmMac{0x52, 0x54, 0x00, 0x77, 0x00, 0x02};
const Mac kPeerMac{0x52, 0x54, 0x00, 0x77, 0x00, 0x01};

std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen((command + " 2>&1").c_str(), "r")) {
    char buffer[512];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
    ::pclose(p);
  }
  return out;
}

// A network namespace of this test's own, deleted with everything in it.
class TestNamespace {
 public:
  explicit TestNamespace(std::string name) : name_(std::move(name)) {
    run("ip netns del " + name_);
    created_ = run("ip netns add " + name_).empty();
  }
  ~TestNamespace() {
    if (created_) run("ip netns del " + name_);
  }
  bool created() const { return created_; }
  const std::string& name() const { return name_; }
  // Whether link `link` exists in it.
  bool has_link(const std::string& link) const {
    return run("ip -n " + name_ + " -o link show dev " + link).find(link + ":") != std::string::npos;
  }
  std::string sysfs(const std::string& link, const std::string& attribute) const {
    return trimmed(run("ip netns exec " + name_ + " cat /sys/class/net/" + link + "/" + attribute));
  }
  // An AF_PACKET socket bound to `link`, made inside the namespace.
  Result<UniqueFd> packet_socket(const std::string& link) const {
    Result<UniqueFd> result = Error("not run");
    std::thread inside([&] {
      UniqueFd ns(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) {
        result = Error::from_errno("setns", errno);
        return;
      }
      UniqueFd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
      const unsigned index = ::if_nametoindex(link.c_str());
      sockaddr_ll address{};
      address.sll_family = AF_PACKET;
      address.sll_protocol = htons(ETH_P_ALL);
      address.sll_ifindex = static_cast<int>(index);
      if (!s.valid() || index == 0 ||
          ::bind(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        result = Error::from_errno("packet socket on " + link, errno);
        return;
      }
      result = std::move(s);
    });
    inside.join();
    return result;
  }

 private:
  std::string name_;
  bool created_ = false;
};

bool contains(std::span<const uint8_t> bytes, const std::string& text) {
  return std::search(bytes.begin(), bytes.end(), text.begin(), text.end()) != bytes.end();
}

// Children of `pid` (its main thread's), by /proc.
std::vector<pid_t> children_of(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  std::vector<pid_t> pids;
  for (pid_t child; in >> child;) pids.push_back(child);
  return pids;
}

class JailNetTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    ns_ = std::make_unique<TestNamespace>("bwjn-" + std::to_string(::getpid()));
    if (!ns_->created()) GTEST_SKIP() << "cannot create a network namespace (ip netns add)";
    kernel_ = dir_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    tap_ = "bw" + std::to_string(vm_uid_) + "n0";
    write_host_config(", \"net\": {\"tap_netns\": \"" + ns_->name() +
                      "\", \"max_nets\": 1, \"allowed_ips\": {\"" + id_ + "\": {\"net0\": [\"10.77.0.2/32\"]}}}");
    config_ = write_vm_config(dir_ + "/vm.json", kernel_, R"(, "nets": [{"id": "net0", "mac": "52:54:00:77:00:02"}])");
  }
  void TearDown() override {
    ns_.reset();
    JailTest::TearDown();
  }
  Result<ChildProcess> launch_with_standin() const {
    auto [program, args] = launcher_command_for_standin(
        BULWARK_JAILER, run_args(config_, {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
    return ChildProcess::start(program, args);
  }
  // Whether the launcher's jailed monitor (the stand-in, exec'd as /bulwark-monitor) runs.
  static bool wait_for_monitor(ChildProcess& vm) {
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      for (pid_t child : children_of(vm.pid())) {
        if (trimmed(read_text("/proc/" + std::to_string(child) + "/comm")) == "bulwark-monitor") return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  bool wait_for_tap(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ns_->has_link(tap_)) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::unique_ptr<TestNamespace> ns_;
  std::string kernel_, tap_, config_;
};

TEST_F(JailNetTest, TheGuestsHonestFramesReachTheOperatorsNamespaceAndItsSpoofedOneNever) {
  auto vm = launch_with_standin();
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  ASSERT_TRUE(wait_for_tap(20s)) << vm->wait(5s).describe();
  // Made where the operator said, owned by the VM's ids, up, with the queue pairs asked (one).
  EXPECT_FALSE(run("ip -o link show dev " + tap_).find(tap_ + ":") != std::string::npos)
      << "the TAP is in the launcher's namespace too";
  EXPECT_EQ(ns_->sysfs(tap_, "owner"), std::to_string(vm_uid_));
  EXPECT_EQ(ns_->sysfs(tap_, "group"), std::to_string(vm_uid_));
  auto capture = ns_->packet_socket(tap_);
  ASSERT_TRUE(capture.ok()) << capture.error().message();

  // The device process: the VM's uid, a network namespace of its own (neither the host's nor
  // the operator's), and it holds the TAP only through fds.
  pid_t dev_net = -1;
  for (pid_t child : children_of(vm->pid())) {
    if (trimmed(read_text("/proc/" + std::to_string(child) + "/comm")) == "bulwark-dev-net") dev_net = child;
  }
  ASSERT_GT(dev_net, 0) << "no bulwark-dev-net child of the launcher";
  EXPECT_EQ(status_field(dev_net, "Uid").substr(0, std::to_string(vm_uid_).size()), std::to_string(vm_uid_));
  struct stat own{}, host{}, operator_ns{};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(dev_net) + "/ns/net").c_str(), &own), 0);
  ASSERT_EQ(::stat("/proc/self/ns/net", &host), 0);
  ASSERT_EQ(::stat(("/run/netns/" + ns_->name()).c_str(), &operator_ns), 0);
  EXPECT_NE(own.st_ino, host.st_ino);
  EXPECT_NE(own.st_ino, operator_ns.st_ino);

  bool honest = false, spoofed = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<uint8_t> frame(2048);
  while (!honest && std::chrono::steady_clock::now() < deadline) {
    pollfd p{capture->get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::recv(capture->get(), frame.data(), frame.size(), 0);
    if (n < 14) continue;
    const std::span<const uint8_t> bytes(frame.data(), static_cast<size_t>(n));
    spoofed = spoofed || contains(bytes, "BULWARK-GUEST-SPOOF");
    if (contains(bytes, "BULWARK-GUEST-HELLO")) {
      honest = true;
      EXPECT_TRUE(std::equal(kVmMac.begin(), kVmMac.end(), bytes.begin() + 6)) << "source MAC";
    }
  }
  ASSERT_TRUE(honest) << "no frame of the guest arrived: " << vm->wait(5s).describe();
  // Answer from the namespace, to the NIC's MAC.
  const std::string hello = "BULWARK-NS-HELLO";
  auto answer = udp_frame(kVmMac, kPeerMac, "10.77.0.1", "10.77.0.2", 4000, 4000,
                          std::span(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()));
  ASSERT_EQ(::send(capture->get(), answer.data(), answer.size(), 0), static_cast<ssize_t>(answer.size()));

  ProcessResult result = vm->wait(30s);
  EXPECT_TRUE(result.exited && result.exit_code == 0) << result.describe();
  EXPECT_NE(result.out.find("STANDIN-NET-RX ok"), std::string::npos) << result.describe();
  EXPECT_FALSE(spoofed) << "a frame with a foreign source MAC left the device";
  EXPECT_NE(result.err.find("NIC net0 is TAP " + tap_ + " in netns " + ns_->name()), std::string::npos) << result.err;
  // Torn down: no TAP, no jail, no reservation.
  EXPECT_FALSE(ns_->has_link(tap_)) << "the TAP outlived its VM";
  EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_ + ".net0")) << "the device's jail is left";
  expect_nothing_left();
}

TEST_F(JailNetTest, ALauncherKilledMidRunLeavesNoTapAndTheVmIdLaunchesAgain) {
  auto first = launch_with_standin();
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(wait_for_monitor(*first)) << "the stand-in monitor never started: " << first->wait(5s).describe();
  ASSERT_TRUE(ns_->has_link(tap_));
  ASSERT_TRUE(first->send_signal(SIGKILL).ok());
  first->wait(10s);
  // The TAP is not persistent: it goes with the last queue fd, the device process's, which dies
  // with its jail's pid namespace once the launcher is gone.
  bool gone = false;
  for (auto deadline = std::chrono::steady_clock::now() + 5s; !gone && std::chrono::steady_clock::now() < deadline;) {
    gone = !ns_->has_link(tap_);
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "a killed launcher's TAP outlived it";

  // The next launch of the VM id sweeps the dead one's record (tap= lines included) and runs.
  auto second = launch_with_standin();
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE(wait_for_monitor(*second)) << second->wait(5s).describe();
  // Past the stand-in's first instructions (its SIGTERM handler: as PID 1 it ignores the signal
  // without one, and the launcher would wait out its grace period).
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(second->send_signal(SIGTERM).ok());
  ProcessResult result = second->wait(30s);
  EXPECT_FALSE(result.timed_out) << result.describe();
  EXPECT_EQ(result.err.find("left alone"), std::string::npos) << result.describe();
  EXPECT_FALSE(ns_->has_link(tap_)) << "TAP left";
  expect_nothing_left();
}

TEST_F(JailNetTest, ANicIsRefusedBeforeAnythingExistsWhenTheOperatorAllowsNone) {
  write_host_config();  // no "net": max_nets 0
  ProcessResult result = run_process(BULWARK_JAILER, run_args(config_, {"--monitor", BULWARK_STANDIN_MONITOR}), {}, 30s);
  EXPECT_TRUE(result.exited && result.exit_code == 1) << result.describe();
  EXPECT_NE(result.err.find("config: /nets: 1 NICs is above the operator's ceiling 0 (net.max_nets)"), std::string::npos)
      << result.err;
  EXPECT_FALSE(ns_->has_link(tap_));
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
