// The network parts of the launcher's configs (jailer/net_config.h): the tenant's "nets" within
// the operator's "net", each refusal naming the field, and what the operator alone decides.
#include "jailer/net_config.h"

#include <gtest/gtest.h>

#include <string>

#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {
namespace {

HostConfig host_allowing_nets() {
  auto host = parse_host_config(R"({"net": {"tap_netns": "vmnet", "bridge": "br0", "max_nets": 2,
      "max_queue_pairs": 2, "max_mtu": 9000,
      "rate_limit": {"rx_bytes_per_sec": 1000000, "tx_packets_per_sec": 500},
      "allowed_ips": {"vm-1": {"net0": ["10.0.0.2/32", "fd00::2/128"]}}}})");
  EXPECT_TRUE(host.ok()) << host.error().message();
  return host.ok() ? *host : HostConfig{};
}

Result<LaunchConfig> applied(const std::string& nets, const HostConfig& host,
                             std::map<std::string, std::vector<std::string>> flag_ips = {}) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "nets": )" + nets + "}");
  if (!parsed.ok()) return parsed.error();
  if (Status s = apply_operator_settings(host, OperatorChoices{"vm-1", "", std::move(flag_ips)}, *parsed); !s.ok()) {
    return s.error();
  }
  return parsed;
}

std::string error_of(const std::string& nets, const HostConfig& host) {
  auto result = applied(nets, host);
  return result.ok() ? "<accepted>" : result.error().message();
}

TEST(NetConfigTest, ANicGetsTheOperatorsPlacementAddressesAndCeilings) {
  auto config = applied(R"([{"id": "net0", "mtu": 9000, "queues": 2}])", host_allowing_nets());
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_EQ(config->nets.size(), 1u);
  const NetSettings& nic = config->nets[0];
  EXPECT_EQ(nic.mtu, 9000u);
  EXPECT_EQ(nic.queues, 2u);
  EXPECT_EQ(nic.allowed_ips, (std::vector<std::string>{"10.0.0.2/32", "fd00::2/128"}));
  // No limit asked: the ceilings apply (one second's worth, refilled each second).
  EXPECT_EQ(nic.rate_limiter.rx_bytes, (RateBucket{1000000, 1000, 0}));
  EXPECT_EQ(nic.rate_limiter.tx_packets, (RateBucket{500, 1000, 0}));
  EXPECT_FALSE(nic.rate_limiter.tx_bytes.limited());
  EXPECT_EQ(config->net_placement.tap_netns, "vmnet");
  EXPECT_EQ(config->net_placement.bridge, "br0");
  EXPECT_EQ(tap_name(config->net_placement, 200000, 0), "bw200000n0");
}

TEST(NetConfigTest, AMacIsDerivedStablyWhenNoneIsGiven) {
  auto a = applied(R"([{"id": "net0"}, {"id": "net1"}])", host_allowing_nets());
  auto b = applied(R"([{"id": "net0"}, {"id": "net1"}])", host_allowing_nets());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->nets[0].mac, b->nets[0].mac);  // the same on every launch
  EXPECT_NE(a->nets[0].mac, a->nets[1].mac);
  EXPECT_EQ(a->nets[0].mac.substr(0, 3), "02:");  // locally administered, unicast
  EXPECT_NE(derived_mac("vm-1", "net0"), derived_mac("vm-2", "net0"));
  auto given = applied(R"([{"id": "net0", "mac": "52:54:00:AB:cd:01"}])", host_allowing_nets());
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->nets[0].mac, "52:54:00:ab:cd:01");
}

TEST(NetConfigTest, TheTenantsRequestsAreRefusedByFieldBeyondTheCeilings) {
  const HostConfig host = host_allowing_nets();
  EXPECT_EQ(error_of(R"([{"id": "a"}, {"id": "b"}, {"id": "c"}])", host),
            "config: /nets: 3 NICs is above the operator's ceiling 2 (net.max_nets)");
  EXPECT_EQ(error_of(R"([{"id": "a", "mtu": 9001}])", host),
            "config: /nets/0/mtu: 9001 is above the operator's ceiling 9000 (net.max_mtu)");
  EXPECT_EQ(error_of(R"([{"id": "a", "queues": 3}])", host),
            "config: /nets/0/queues: 3 is above the operator's ceiling 2 (net.max_queue_pairs)");
  EXPECT_EQ(error_of(R"([{"id": "a", "rate_limiter": {"rx": {"bandwidth": {"size": 2000001, "refill_time": 2000}}}}])", host),
            "config: /nets/0/rate_limiter/rx/bandwidth: 1000001 per second is above the operator's ceiling "
            "1000000 (net.rate_limit.rx_bytes_per_sec)");
  EXPECT_EQ(error_of(R"([{"id": "a", "rate_limiter": {"tx": {"ops": {"size": 10, "refill_time": 100, "one_time_burst": 501}}}}])", host),
            "config: /nets/0/rate_limiter/tx/ops/one_time_burst: 501 is above the operator's ceiling 500 "
            "(net.rate_limit.tx_packets_per_sec)");
  // Within the ceiling: kept as asked.
  auto slower = applied(R"([{"id": "a", "rate_limiter": {"rx": {"bandwidth": {"size": 1000, "refill_time": 10}}}}])", host);
  ASSERT_TRUE(slower.ok()) << slower.error().message();
  EXPECT_EQ(slower->nets[0].rate_limiter.rx_bytes, (RateBucket{1000, 10, 0}));
  // No "net" in the host config: no NICs at all.
  EXPECT_EQ(error_of(R"([{"id": "a"}])", HostConfig{}),
            "config: /nets: 1 NICs is above the operator's ceiling 0 (net.max_nets)");
}

TEST(NetConfigTest, MalformedNicsAreRefusedWithTheirPointer) {
  const HostConfig host = host_allowing_nets();
  EXPECT_EQ(error_of(R"([{"mtu": 1500}])", host), "config: /nets/0/id: required");
  EXPECT_EQ(error_of(R"([{"id": "a"}, {"id": "a"}])", host),
            "config: /nets/1/id: \"a\" is used by another NIC");
  EXPECT_EQ(error_of(R"([{"id": "a.b"}])", host),
            "config: /nets/0/id: expected 1 to 15 bytes of [A-Za-z0-9_-], got \"a.b\"");
  EXPECT_EQ(error_of(R"([{"id": "a", "mac": "01:00:5e:00:00:01"}])", host),
            "config: /nets/0/mac: \"01:00:5e:00:00:01\" is a multicast address (a NIC's MAC is unicast)");
  EXPECT_EQ(error_of(R"([{"id": "a", "mac": "00:00:00:00:00:00"}])", host),
            "config: /nets/0/mac: 00:00:00:00:00:00 is not a NIC's address");
  EXPECT_NE(error_of(R"([{"id": "a", "mac": "52:54:00:12:34"}])", host).find("config: /nets/0/mac: "), std::string::npos);
  EXPECT_EQ(error_of(R"([{"id": "a", "mtu": 67}])", host),
            "config: /nets/0/mtu: expected an integer from 68 to 65521, got 67");
  EXPECT_EQ(error_of(R"([{"id": "a", "queues": 9}])", host),
            "config: /nets/0/queues: expected an integer from 1 to 8, got 9");
  EXPECT_EQ(error_of(R"([{"id": "a", "rate_limiter": {"rx": {"bandwidth": {"size": 10}}}}])", host),
            "config: /nets/0/rate_limiter/rx/bandwidth/refill_time: required");
  EXPECT_EQ(error_of(R"([{"id": "a", "rate_limiter": {"rx": {"bandwidth": {"size": 0, "refill_time": 1}}}}])", host),
            "config: /nets/0/rate_limiter/rx/bandwidth/size: expected an integer from 1 to 1099511627776, got 0");
  EXPECT_EQ(error_of(R"([{"id": "a", "rate_limiter": {"up": {}}}])", host),
            "config: /nets/0/rate_limiter/up: unknown field (rx or tx)");
  EXPECT_EQ(error_of(R"({"id": "a"})", host), "config: /nets: expected an array, got an object");
}

TEST(NetConfigTest, OperatorFieldsInATenantsNicAreRefusedByName) {
  for (const char* field : {"allowed_ips", "tap", "host_dev_name", "bridge", "netns", "allow_vlan", "allow_mac_change"}) {
    const std::string error = error_of(std::string(R"([{"id": "a", ")") + field + R"(": true}])", host_allowing_nets());
    EXPECT_EQ(error, std::string("config: /nets/0/") + field +
                         ": an operator setting; a VM config may not set it (the host config's \"net\" and "
                         "bulwark run's flags do)");
  }
  // And the host config's own section at the top level of a VM config.
  auto parsed = parse_launch_config(R"({"kernel": "/k", "net": {}})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("/net: an operator setting"), std::string::npos);
}

TEST(NetConfigTest, TheAllowedIpsFlagOverridesTheHostConfigForItsNic) {
  auto config = applied(R"([{"id": "net0"}, {"id": "net1"}])", host_allowing_nets(),
                        {{"net1", {"192.168.5.0/24"}}});
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->nets[0].allowed_ips, (std::vector<std::string>{"10.0.0.2/32", "fd00::2/128"}));
  EXPECT_EQ(config->nets[1].allowed_ips, (std::vector<std::string>{"192.168.5.0/24"}));
  auto unknown = applied(R"([{"id": "net0"}])", host_allowing_nets(), {{"net9", {"10.0.0.1/32"}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message(), "--allowed-ips: the VM config has no NIC \"net9\"");

  std::map<std::string, std::vector<std::string>> flag;
  ASSERT_TRUE(parse_allowed_ips_flag("net0=10.0.0.2/32,fd00::/64", flag).ok());
  EXPECT_EQ(flag["net0"], (std::vector<std::string>{"10.0.0.2/32", "fd00::/64"}));
  for (const char* bad : {"net0", "net0=", "net0=10.0.0.1/24", "net0=10.0.0.2/32,", "=10.0.0.2", "a.b=10.0.0.2"}) {
    std::map<std::string, std::vector<std::string>> out;
    EXPECT_FALSE(parse_allowed_ips_flag(bad, out).ok()) << bad;
  }
}

TEST(NetConfigTest, TheHostConfigsNetSectionIsValidated) {
  auto error = [](const std::string& net) {
    auto host = parse_host_config(R"({"net": )" + net + "}");
    return host.ok() ? "<accepted>" : host.error().message();
  };
  EXPECT_EQ(error(R"({"tap_prefix": "bwxx"})"), "host config: /net/tap_prefix: expected 1 to 3 bytes of [a-z0-9], got \"bwxx\"");
  EXPECT_EQ(error(R"({"tap_netns": "../x"})").substr(0, 29), "host config: /net/tap_netns: ");
  EXPECT_EQ(error(R"({"bridge": "sixteen-bytes-xx"})"),
            "host config: /net/bridge: expected an interface name of 1 to 15 bytes [A-Za-z0-9_.-], got \"sixteen-bytes-xx\"");
  EXPECT_EQ(error(R"({"max_nets": 9})"), "host config: /net/max_nets: expected an integer from 0 to 8, got 9");
  EXPECT_EQ(error(R"({"max_mtu": 65535})"), "host config: /net/max_mtu: expected an integer from 68 to 65521, got 65535");
  EXPECT_EQ(error(R"({"allowed_ips": {"vm-1": {"net0": ["10.0.0.1/24"]}}})").rfind("host config: /net/allowed_ips/vm-1/net0/0: ", 0), 0u);
  EXPECT_EQ(error(R"({"rate_limit": {"rx_bits": 1}})"), "host config: /net/rate_limit/rx_bits: unknown field");
  EXPECT_EQ(error(R"({"colour": 1})"), "host config: /net/colour: unknown field");
  auto host = parse_host_config(R"({"net": {"tap_netns": "vmnet"}})");
  ASSERT_TRUE(host.ok());
  EXPECT_NE(describe_host_config(*host).find("net.tap_netns = vmnet"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::jail
