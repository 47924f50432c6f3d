// The TAPs of a VM's NICs (jailer/net/tap_device.h) as root, without KVM: what an operator, a
// tenant or a compromised device process would see of them. Every TAP goes into a network
// namespace the test creates (`ip netns add bwtap-<pid>-<n>`, deleted at the end): no link and
// no frame ever appears in the test's own namespace.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "jailer/net/tap_device.h"

namespace bulwark::jail {
namespace {

using namespace std::chrono_literals;

struct Output {
  int status = -1;
  std::string text;
};

// A shell command's exit status and its stdout and stderr.
Output run(const std::string& command) {
  Output out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.text.append(buf, n);
  out.status = ::pclose(pipe);
  return out;
}

// A network namespace of the test's own, deleted with everything in it when this goes.
class TestNetns {
 public:
  TestNetns() {
    static int count = 0;
    name_ = "bwtap-" + std::to_string(::getpid()) + "-" + std::to_string(++count);
    const Output out = run("ip netns add " + name_);
    ok_ = out.status == 0;
    EXPECT_TRUE(ok_) << out.text;
  }
  ~TestNetns() {
    if (ok_) run("ip netns del " + name_);
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  const std::string& name() const { return name_; }
  bool ok() const { return ok_; }
  // A command inside the namespace (`ip netns exec` also mounts its own /sys for it).
  Output exec(const std::string& command) const { return run("ip netns exec " + name_ + " " + command); }
  bool has_link(const std::string& link) const { return run("ip -n " + name_ + " link show dev " + link).status == 0; }
  // /sys/class/net/<link>/<attribute>, as seen from inside.
  std::string sys(const std::string& link, const std::string& attribute) const {
    Output out = exec("cat /sys/class/net/" + link + "/" + attribute);
    while (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
    return out.status == 0 ? out.text : "<" + out.text + ">";
  }
  int numqueues(const std::string& link) const {
    const Output out = run("ip -n " + name_ + " -d link show dev " + link);
    std::smatch m;
    if (!std::regex_search(out.text, m, std::regex("numqueues ([0-9]+)"))) return -1;
    return std::stoi(m[1]);
  }

 private:
  std::string name_;
  bool ok_ = false;
};

// A packet socket on `ifindex` in `netns`, opened by a thread that entered it (so this thread
// stays where it is): it sees every frame the TAP's link receives.
UniqueFd packet_socket(const std::string& netns, int ifindex) {
  int result = -1;
  std::thread([&] {
    UniqueFd ns(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) return;
    UniqueFd sock(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
    if (!sock.valid()) return;
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = ifindex;
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    result = sock.release();
  }).join();
  return UniqueFd(result);
}

constexpr uint16_t kTestEtherType = 0x88b5;  // IEEE local experimental

// A broadcast frame carrying `marker`, behind a zeroed 12-byte virtio-net header, as a guest's
// frame reaches the TAP from bulwark-dev-net. Returns write()'s result.
ssize_t write_frame(int queue_fd, const std::string& marker) {
  std::vector<unsigned char> packet(12 + 60, 0);
  unsigned char* frame = packet.data() + 12;
  std::memset(frame, 0xff, 6);
  const unsigned char src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(frame + 6, src, 6);
  frame[12] = kTestEtherType >> 8;
  frame[13] = kTestEtherType & 0xff;
  std::memcpy(frame + 14, marker.data(), marker.size());
  return ::write(queue_fd, packet.data(), packet.size());
}

// Waits (up to a second) for a frame of the test's ethertype carrying `marker`.
bool saw_frame(int packet_fd, const std::string& marker) {
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{packet_fd, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    unsigned char buf[2048];
    ssize_t n;
    while ((n = ::recv(packet_fd, buf, sizeof buf, 0)) > 0) {
      if (n < 14 + static_cast<ssize_t>(marker.size())) continue;
      if (buf[12] != (kTestEtherType >> 8) || buf[13] != (kTestEtherType & 0xff)) continue;
      if (std::memcmp(buf + 14, marker.data(), marker.size()) == 0) return true;
    }
  }
  return false;
}

template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 100; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

ino_t own_netns_inode() {
  struct stat st{};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

class TapDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    if (run("ip netns list").status != 0) GTEST_SKIP() << "no ip netns";
  }
  // A link name no test of another run uses (15 bytes at most).
  static std::string tap_name(const std::string& suffix) {
    return "bwt" + std::to_string(::getpid() % 1000000) + suffix;
  }
  TapRequest request(const TestNetns& ns, const std::string& name, uint16_t queue_pairs = 1) const {
    TapRequest r;
    r.netns = ns.name();
    r.name = name;
    r.uid = 4242;
    r.gid = 4343;
    r.queue_pairs = queue_pairs;
    r.mtu = 1400;
    return r;
  }
};

TEST_F(TapDeviceTest, CreatedInItsNamespaceOwnedUpMultiQueueAndEveryQueueCarriesFrames) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("a");
  const ino_t before = own_netns_inode();
  auto tap = create_tap(request(ns, name, 4));
  ASSERT_TRUE(tap.ok()) << tap.error().message();
  EXPECT_EQ(own_netns_inode(), before) << "the calling thread changed namespace";
  EXPECT_EQ(tap->name, name);
  EXPECT_EQ(tap->netns, ns.name());
  ASSERT_EQ(tap->queues.size(), 4u);

  // There, not here.
  EXPECT_TRUE(ns.has_link(name));
  EXPECT_EQ(::if_nametoindex(name.c_str()), 0u) << "a TAP of that name in the test's own namespace";
  EXPECT_EQ(ns.sys(name, "ifindex"), std::to_string(tap->ifindex));
  EXPECT_EQ(ns.sys(name, "mtu"), "1400");
  EXPECT_EQ(ns.sys(name, "owner"), "4242");
  EXPECT_EQ(ns.sys(name, "group"), "4343");
  const unsigned long flags = std::stoul(ns.sys(name, "flags"), nullptr, 16);
  EXPECT_TRUE(flags & IFF_UP) << std::hex << flags;
  const unsigned long tun_flags = std::stoul(ns.sys(name, "tun_flags"), nullptr, 16);
  EXPECT_EQ(tun_flags, static_cast<unsigned long>(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE))
      << std::hex << tun_flags << " (IFF_PERSIST is 0x800)";
  EXPECT_EQ(ns.numqueues(name), 4);
  EXPECT_FALSE(ns.has_link("br0"));

  UniqueFd packets = packet_socket(ns.name(), tap->ifindex);
  ASSERT_TRUE(packets.valid());
  for (size_t q = 0; q < tap->queues.size(); ++q) {
    const int fd = tap->queues[q].get();
    EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "queue " << q;
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK) << "queue " << q;
    int hdr = 0;
    ASSERT_EQ(::ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
    EXPECT_EQ(hdr, 12) << "queue " << q;
    ifreq ifr{};
    ASSERT_EQ(::ioctl(fd, TUNGETIFF, &ifr), 0);
    EXPECT_EQ(std::string(ifr.ifr_name), name);
    const std::string marker = "bulwark-queue-" + std::to_string(q);
    EXPECT_EQ(write_frame(fd, marker), 72) << "queue " << q << ": " << std::strerror(errno);
    EXPECT_TRUE(saw_frame(packets.get(), marker)) << "queue " << q;
  }
}

TEST_F(TapDeviceTest, ASecondCreateOfTheSameNameIsRefusedAndDoesNotAttach) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("b");
  auto first = create_tap(request(ns, name, 2));
  ASSERT_TRUE(first.ok()) << first.error().message();

  auto second = create_tap(request(ns, name, 3));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message(), "TAP \"" + name + "\" in netns \"" + ns.name() +
                                          "\": create: a link of that name already exists");
  EXPECT_EQ(ns.numqueues(name), 2) << "the refused create attached a queue";
  EXPECT_EQ(ns.sys(name, "ifindex"), std::to_string(first->ifindex));
  UniqueFd packets = packet_socket(ns.name(), first->ifindex);
  ASSERT_TRUE(packets.valid());
  EXPECT_EQ(write_frame(first->queues[1].get(), "still-mine"), 72);
  EXPECT_TRUE(saw_frame(packets.get(), "still-mine"));

  // A link of another kind with the name is refused just the same.
  ASSERT_EQ(run("ip -n " + ns.name() + " link add br0 type bridge").status, 0);
  auto over_bridge = create_tap(request(ns, "br0"));
  ASSERT_FALSE(over_bridge.ok());
  EXPECT_NE(over_bridge.error().message().find("already exists"), std::string::npos)
      << over_bridge.error().message();
}

TEST_F(TapDeviceTest, EnslavedToTheNamedBridge) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(run("ip -n " + ns.name() + " link add br0 type bridge").status, 0);
  const std::string name = tap_name("c");
  TapRequest r = request(ns, name, 2);
  r.bridge = "br0";
  auto tap = create_tap(r);
  ASSERT_TRUE(tap.ok()) << tap.error().message();
  const Output master = ns.exec("readlink /sys/class/net/" + name + "/master");
  EXPECT_EQ(master.status, 0) << master.text;
  EXPECT_NE(master.text.find("/br0\n"), std::string::npos) << master.text;
  EXPECT_TRUE(std::stoul(ns.sys(name, "flags"), nullptr, 16) & IFF_UP);
}

TEST_F(TapDeviceTest, AMissingBridgeOrANonBridgeIsAClearErrorAndLeavesNoTap) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("d");
  TapRequest r = request(ns, name, 3);
  r.bridge = "br0";
  auto missing = create_tap(r);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "TAP \"" + name + "\" in netns \"" + ns.name() + "\": bridge \"br0\": no such device");
  EXPECT_FALSE(ns.has_link(name)) << "a TAP was left behind";

  r.bridge = "lo";
  auto not_bridge = create_tap(r);
  ASSERT_FALSE(not_bridge.ok());
  EXPECT_EQ(not_bridge.error().message(),
            "TAP \"" + name + "\" in netns \"" + ns.name() + "\": bridge \"lo\": not a bridge");
  EXPECT_FALSE(ns.has_link(name)) << "a TAP was left behind";
}

TEST_F(TapDeviceTest, ClosingEveryQueueFdRemovesTheTap) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("e");
  auto tap = create_tap(request(ns, name, 3));
  ASSERT_TRUE(tap.ok()) << tap.error().message();
  tap->queues.pop_back();
  tap->queues.pop_back();
  EXPECT_TRUE(ns.has_link(name)) << "gone while a queue fd is still open";
  tap->queues.clear();
  EXPECT_TRUE(eventually([&] { return !ns.has_link(name); })) << "the TAP outlived its fds";
}

TEST_F(TapDeviceTest, RemoveDeletesOnlyTheLinkWithTheRecordedIndex) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("f");
  auto tap = create_tap(request(ns, name, 2));
  ASSERT_TRUE(tap.ok()) << tap.error().message();

  auto other = remove_tap(ns.name(), name, tap->ifindex + 1000);
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_FALSE(*other);
  EXPECT_TRUE(ns.has_link(name)) << "a link with another ifindex was deleted";

  auto absent = remove_tap(ns.name(), tap_name("z"), tap->ifindex);
  ASSERT_TRUE(absent.ok()) << absent.error().message();
  EXPECT_FALSE(*absent);

  // Deleted while both queue fds still hold it: the kernel takes it down and the fds fail.
  auto removed = remove_tap(ns.name(), name, tap->ifindex);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(ns.has_link(name));
  for (const UniqueFd& queue : tap->queues) {
    errno = 0;
    EXPECT_EQ(write_frame(queue.get(), "after-delete"), -1);
    EXPECT_EQ(errno, EBADFD) << std::strerror(errno);
  }
  auto again = remove_tap(ns.name(), name, tap->ifindex);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(*again);

  auto no_netns = remove_tap(ns.name() + "-gone", name, tap->ifindex);
  ASSERT_TRUE(no_netns.ok()) << no_netns.error().message();
  EXPECT_FALSE(*no_netns);
}

TEST_F(TapDeviceTest, AMissingOrFakeNamespaceIsRefused) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = tap_name("g");
  TapRequest r = request(ns, name);
  r.netns = ns.name() + "-gone";
  auto missing = create_tap(r);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "TAP \"" + name + "\" in netns \"" + r.netns +
                                           "\": no such network namespace (\"/run/netns/" +
                                           r.netns + "\")");

  // A plain file where a namespace would be mounted (what `ip netns del` can leave behind).
  r.netns = ns.name() + "-plain";
  const std::string plain = "/run/netns/" + r.netns;
  { std::ofstream(plain) << ""; }
  auto fake = create_tap(r);
  ::unlink(plain.c_str());
  ASSERT_FALSE(fake.ok());
  EXPECT_NE(fake.error().message().find("is not a namespace"), std::string::npos)
      << fake.error().message();
  EXPECT_EQ(::if_nametoindex(name.c_str()), 0u);
}

TEST_F(TapDeviceTest, BadRequestsAreRefusedByField) {
  TestNetns ns;
  ASSERT_TRUE(ns.ok());
  struct Case {
    const char* what;
    void (*change)(TapRequest&);
    const char* expect;
  };
  const Case cases[] = {
      {"empty name", [](TapRequest& r) { r.name = ""; }, "name \"\": must be 1..15 bytes"},
      {"name too long", [](TapRequest& r) { r.name = "abcdefghijklmnop"; }, "name \"abcdefghijklmnop\": must be"},
      {"name with a slash", [](TapRequest& r) { r.name = "a/b"; }, "name \"a/b\": must be"},
      {"name with a space", [](TapRequest& r) { r.name = "a b"; }, "name \"a b\": must be"},
      {"name with a pattern", [](TapRequest& r) { r.name = "tap%d"; }, "name \"tap%d\": must be"},
      {"name ..", [](TapRequest& r) { r.name = ".."; }, "name \"..\": must be"},
      {"0 queue pairs", [](TapRequest& r) { r.queue_pairs = 0; }, "queue_pairs 0: must be 1..8"},
      {"9 queue pairs", [](TapRequest& r) { r.queue_pairs = 9; }, "queue_pairs 9: must be 1..8"},
      {"mtu 67", [](TapRequest& r) { r.mtu = 67; }, "mtu 67: must be 68..65535"},
      {"mtu 65536", [](TapRequest& r) { r.mtu = 65536; }, "mtu 65536: must be 68..65535"},
      {"netns ../x", [](TapRequest& r) { r.netns = "../x"; }, "netns \"../x\": must be one name in /run/netns"},
      {"netns ..", [](TapRequest& r) { r.netns = ".."; }, "netns \"..\": must be one name"},
      {"netns with a newline", [](TapRequest& r) { r.netns = "a\nb"; }, "netns \"a\\nb\": must be one name"},
      {"bridge with a slash", [](TapRequest& r) { r.bridge = "../br0"; }, "bridge \"../br0\": must be"},
      {"bridge is the TAP", [](TapRequest& r) { r.bridge = r.name; }, "is the TAP's own name"},
  };
  for (const Case& c : cases) {
    TapRequest r = request(ns, tap_name("h"));
    c.change(r);
    auto tap = create_tap(r);
    ASSERT_FALSE(tap.ok()) << c.what;
    EXPECT_NE(tap.error().message().find(c.expect), std::string::npos)
        << c.what << ": " << tap.error().message();
  }
  // The namespace named as it is in the message; nothing was created either way.
  TapRequest own = request(ns, "x");
  own.netns = "";
  own.queue_pairs = 9;
  auto refused = create_tap(own);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "TAP \"x\" in the launcher's namespace: queue_pairs 9: must be 1..8");
  EXPECT_FALSE(ns.has_link(tap_name("h")));

  // The kernel's own ceiling for a TAP, under the 65535 the request allows.
  TapRequest big = request(ns, tap_name("i"));
  big.mtu = 65535;
  auto too_big = create_tap(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message().find("MTU 65535: refused by the kernel (a TAP takes 68..65521)"),
            std::string::npos)
      << too_big.error().message();
  EXPECT_FALSE(ns.has_link(big.name));
  big.mtu = 65521;
  auto largest = create_tap(big);
  ASSERT_TRUE(largest.ok()) << largest.error().message();
  EXPECT_EQ(ns.sys(big.name, "mtu"), "65521");
}

TEST_F(TapDeviceTest, RemoveRefusesBadArguments) {
  auto bad_name = remove_tap("", "a/b", 5);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message().find("not a valid link name"), std::string::npos);
  auto bad_netns = remove_tap("../x", "tap0", 5);
  ASSERT_FALSE(bad_netns.ok());
  EXPECT_NE(bad_netns.error().message().find("not a valid namespace name"), std::string::npos);
  auto bad_index = remove_tap("x", "tap0", 0);
  ASSERT_FALSE(bad_index.ok());
  EXPECT_NE(bad_index.error().message().find("ifindex 0"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::jail
