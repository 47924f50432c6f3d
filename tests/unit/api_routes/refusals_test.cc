// Each class of refusal an API client can meet: the status, and a fault message naming the
// request and the field, as Firecracker's {"fault_message": ...}.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "api/routes/router.h"
#include "route_test_util.h"

namespace bulwark::api {
namespace {

struct Refusal {
  const char* name;
  const char* method;
  std::string path;
  std::string body;
  const char* content_type;
  uint16_t status;
  std::string message;  // the whole fault message
};

// gtest names the failing case by this instead of dumping the struct's bytes.
void PrintTo(const Refusal& refusal, std::ostream* os) { *os << refusal.name; }

std::string long_text(size_t n) { return std::string(n, 'a'); }

const Refusal kRefusals[] = {
    // paths and methods
    {"UnknownPath", "GET", "/balloon", "", "", 404, "GET /balloon: no such path"},
    {"SnapshotIsNotServed", "PUT", "/snapshot/create", "{}", "", 404,
     "PUT /snapshot/create: no such path"},
    {"TrailingSlash", "GET", "/machine-config/", "", "", 404, "GET /machine-config/: no such path"},
    {"EmptyDriveId", "PUT", "/drives/", "{}", "", 404, "PUT /drives/: no such path"},
    {"NestedDriveId", "PUT", "/drives/a/b", "{}", "", 404, "PUT /drives/a/b: no such path"},
    {"DriveCollection", "GET", "/drives", "", "", 404, "GET /drives: no such path"},
    {"PathEchoIsEscaped", "GET", "/\x1b[2J", "", "", 404, "GET /\\x1b[2J: no such path"},
    {"WrongMethod", "DELETE", "/drives/rootfs", "", "", 405,
     "DELETE /drives/rootfs: method not allowed (allowed: PUT, PATCH)"},
    {"GetOnPutOnly", "GET", "/boot-source", "", "", 405,
     "GET /boot-source: method not allowed (allowed: PUT)"},
    {"PatchMachineConfigIsNotServed", "PATCH", "/machine-config", R"({"vcpu_count": 2})", "", 405,
     "PATCH /machine-config: method not allowed (allowed: GET, PUT)"},
    {"LowerCaseMethod", "put", "/actions", R"({"action_type": "InstanceStart"})", "", 405,
     "put /actions: method not allowed (allowed: PUT)"},
    {"BadPathId", "PUT", "/drives/root.fs", R"({"drive_id": "root.fs", "path_on_host": "x"})", "",
     400,
     "PUT /drives/root.fs: path drive_id: expected 1 to 64 characters from A-Z a-z 0-9 _ - "
     "(byte 4 is not one of [A-Za-z0-9_-])"},
    {"PathIdTooLong", "PUT", "/drives/" + long_text(65), "{}", "", 400,
     "PUT /drives/" + long_text(65) +
         ": path drive_id: expected 1 to 64 characters from A-Z a-z 0-9 _ - (65 bytes, at most 64)"},
    {"IfaceIdTooLong", "PATCH", "/network-interfaces/abcdefghijklmnop", R"({"iface_id": "x"})", "",
     400,
     "PATCH /network-interfaces/abcdefghijklmnop: path iface_id: expected 1 to 15 characters from "
     "A-Z a-z 0-9 _ - (16 bytes, at most 15)"},
    // bodies
    {"PutWithoutBody", "PUT", "/actions", "", "", 400, "PUT /actions: body: required (a JSON object)"},
    {"GetWithBody", "GET", "/", "{}", "", 400, "GET /: body: not expected (GET takes none)"},
    {"ContentTypeText", "PUT", "/actions", R"({"action_type": "InstanceStart"})", "text/plain", 400,
     "PUT /actions: Content-Type: expected application/json, got \"text/plain\""},
    {"NotJson", "PUT", "/actions", "{action_type: 1}", "", 400,
     "PUT /actions: body: not valid JSON (at byte 2)"},
    {"TrailingGarbage", "PUT", "/actions", R"({"action_type": "InstanceStart"} x)", "", 400,
     "PUT /actions: body: not valid JSON (at byte 34)"},
    {"NotAnObject", "PUT", "/actions", R"(["InstanceStart"])", "", 400,
     "PUT /actions: body: expected a JSON object, got an array"},
    {"RawNul", "PUT", "/actions", std::string("{}\0", 3), "", 400,
     "PUT /actions: body: contains a NUL byte"},
    {"DuplicateField", "PUT", "/actions",
     R"({"action_type": "FlushMetrics", "action_type": "InstanceStart"})", "", 400,
     "PUT /actions: body field action_type: duplicate field"},
    {"DuplicateNestedField", "PUT", "/entropy",
     R"({"rate_limiter": {"ops": {"size": 1, "size": 2, "refill_time": 1}}})", "", 400,
     "PUT /entropy: body field rate_limiter.ops.size: duplicate field"},
    {"TooDeep", "PUT", "/entropy", R"({"a": [[[[[[[[1]]]]]]]]})", "", 400,
     "PUT /entropy: body: nested deeper than 8 levels"},
    {"UnknownField", "PUT", "/boot-source", R"({"kernel_image_path": "k", "kernel": "k"})", "", 400,
     "PUT /boot-source: body field kernel: unknown field"},
    {"UnknownNestedField", "PUT", "/entropy",
     R"({"rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1, "burst": 1}}})", "", 400,
     "PUT /entropy: body field rate_limiter.bandwidth.burst: unknown field"},
    {"MissingField", "PUT", "/boot-source", R"({"boot_args": "quiet"})", "", 400,
     "PUT /boot-source: body field kernel_image_path: required"},
    {"NullRequiredField", "PUT", "/boot-source", R"({"kernel_image_path": null})", "", 400,
     "PUT /boot-source: body field kernel_image_path: required"},
    {"WrongTypeString", "PUT", "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": 1})", "",
     400, "PUT /drives/rootfs: body field path_on_host: expected a string, got an integer"},
    {"WrongTypeBool", "PUT", "/drives/rootfs",
     R"({"drive_id": "rootfs", "path_on_host": "r", "is_read_only": "yes"})", "", 400,
     "PUT /drives/rootfs: body field is_read_only: expected a boolean, got a string"},
    {"WrongTypeObject", "PUT", "/entropy", R"({"rate_limiter": 5})", "", 400,
     "PUT /entropy: body field rate_limiter: expected an object, got an integer"},
    {"WrongTypeInteger", "PUT", "/machine-config", R"({"vcpu_count": "2", "mem_size_mib": 128})",
     "", 400,
     "PUT /machine-config: body field vcpu_count: expected an integer from 1 to 32, got a string"},
    {"FractionalNumber", "PUT", "/machine-config", R"({"vcpu_count": 2.0, "mem_size_mib": 128})",
     "", 400,
     "PUT /machine-config: body field vcpu_count: expected an integer from 1 to 32, got 2.0"},
    {"ZeroVcpus", "PUT", "/machine-config", R"({"vcpu_count": 0, "mem_size_mib": 128})", "", 400,
     "PUT /machine-config: body field vcpu_count: expected an integer from 1 to 32, got 0"},
    {"TooManyVcpus", "PUT", "/machine-config", R"({"vcpu_count": 33, "mem_size_mib": 128})", "",
     400, "PUT /machine-config: body field vcpu_count: expected an integer from 1 to 32, got 33"},
    {"NegativeMemory", "PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": -1})", "",
     400,
     "PUT /machine-config: body field mem_size_mib: expected an integer from 1 to 1048576, got -1"},
    {"HugeMemory", "PUT", "/machine-config",
     R"({"vcpu_count": 1, "mem_size_mib": 99999999999999999999999})", "", 400,
     "PUT /machine-config: body field mem_size_mib: expected an integer from 1 to 1048576, got "
     "9.999999999999999e+22"},
    {"Smt", "PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 128, "smt": true})", "",
     400, "PUT /machine-config: body field smt: true is not supported (Bulwark has no SMT)"},
    {"CpuTemplateName", "PUT", "/machine-config",
     R"({"vcpu_count": 2, "mem_size_mib": 128, "cpu_template": "../x"})", "", 400,
     "PUT /machine-config: body field cpu_template: expected a name of 1 to 64 characters from "
     "A-Z a-z 0-9 . _ -"},
    {"BucketSizeTooBig", "PUT", "/entropy",
     R"({"rate_limiter": {"ops": {"size": 9007199254740993, "refill_time": 1}}})", "", 400,
     "PUT /entropy: body field rate_limiter.ops.size: expected an integer from 0 to "
     "9007199254740992, got 9007199254740993"},
    {"RefillTooLong", "PUT", "/entropy",
     R"({"rate_limiter": {"ops": {"size": 1, "refill_time": 3600001}}})", "", 400,
     "PUT /entropy: body field rate_limiter.ops.refill_time: expected an integer from 0 to "
     "3600000, got 3600001"},
    {"BucketWithoutRefill", "PUT", "/entropy",
     R"({"rate_limiter": {"bandwidth": {"size": 1, "refill_time": 0}}})", "", 400,
     "PUT /entropy: body field rate_limiter.bandwidth.refill_time: 0 with a non-zero size (the "
     "bucket would never refill)"},
    {"BucketWithoutSize", "PUT", "/entropy", R"({"rate_limiter": {"ops": {"refill_time": 1}}})", "",
     400, "PUT /entropy: body field rate_limiter.ops.size: required"},
    {"PathTooLong", "PUT", "/boot-source", R"({"kernel_image_path": ")" + long_text(4097) + R"("})",
     "", 400, "PUT /boot-source: body field kernel_image_path: 4097 bytes, at most 4096"},
    {"EmptyPath", "PUT", "/boot-source", R"({"kernel_image_path": ""})", "", 400,
     "PUT /boot-source: body field kernel_image_path: 0 bytes, at least 1"},
    {"BootArgsTooLong", "PUT", "/boot-source",
     R"({"kernel_image_path": "k", "boot_args": ")" + long_text(2049) + R"("})", "", 400,
     "PUT /boot-source: body field boot_args: 2049 bytes, at most 2048"},
    {"ControlCharacter", "PUT", "/boot-source", R"({"kernel_image_path": "k\u001b[31m"})", "", 400,
     "PUT /boot-source: body field kernel_image_path: byte 1 is a control character"},
    {"EscapedNul", "PUT", "/boot-source", R"({"kernel_image_path": "k\u0000"})", "", 400,
     "PUT /boot-source: body field kernel_image_path: byte 1 is a control character"},
    {"NewlineInBootArgs", "PUT", "/boot-source",
     R"({"kernel_image_path": "k", "boot_args": "a\nb"})", "", 400,
     "PUT /boot-source: body field boot_args: byte 1 is a control character"},
    {"C1Control", "PUT", "/logger", "{\"log_path\": \"a\xc2\x9b\"}", "", 400,
     "PUT /logger: body field log_path: byte 1 is a control character"},
    {"InvalidUtf8", "PUT", "/logger", "{\"log_path\": \"a\xff\"}", "", 400,
     "PUT /logger: body: not valid JSON (at byte 16)"},
    // ids and per-endpoint rules
    {"DriveIdMismatch", "PUT", "/drives/rootfs", R"({"drive_id": "data", "path_on_host": "r"})", "",
     400, "PUT /drives/rootfs: body field drive_id: does not match the drive_id in the path"},
    {"DriveIdMissing", "PATCH", "/drives/rootfs", R"({"rate_limiter": {}})", "", 400,
     "PATCH /drives/rootfs: body field drive_id: required"},
    {"IfaceIdBadCharacters", "PUT", "/network-interfaces/eth0", R"({"iface_id": "eth 0"})", "", 400,
     "PUT /network-interfaces/eth0: body field iface_id: expected 1 to 15 characters from A-Z a-z "
     "0-9 _ - (byte 3 is not one of [A-Za-z0-9_-])"},
    {"Partuuid", "PUT", "/drives/rootfs",
     R"({"drive_id": "rootfs", "path_on_host": "r", "is_root_device": true, "partuuid": "0eaa91a0-01"})",
     "", 400,
     "PUT /drives/rootfs: body field partuuid: not supported (give the root device in boot_args)"},
    {"AsyncIoEngine", "PUT", "/drives/rootfs",
     R"({"drive_id": "rootfs", "path_on_host": "r", "io_engine": "Async"})", "", 400,
     "PUT /drives/rootfs: body field io_engine: \"Async\" is not supported"},
    {"BadCacheType", "PUT", "/drives/rootfs",
     R"({"drive_id": "rootfs", "path_on_host": "r", "cache_type": "None"})", "", 400,
     "PUT /drives/rootfs: body field cache_type: expected one of \"Unsafe\", \"Writeback\", got "
     "\"None\""},
    {"VhostUserSocket", "PUT", "/drives/rootfs", R"({"drive_id": "rootfs", "socket": "/s"})", "",
     400,
     "PUT /drives/rootfs: body field socket: not supported (Bulwark has no vhost-user-block "
     "drives)"},
    {"BadFormat", "PUT", "/drives/rootfs",
     R"({"drive_id": "rootfs", "path_on_host": "r", "format": "vmdk"})", "", 400,
     "PUT /drives/rootfs: body field format: expected one of \"raw\", \"qcow2\", got \"vmdk\""},
    {"PatchDrivePath", "PATCH", "/drives/rootfs", R"({"drive_id": "rootfs", "path_on_host": "new"})",
     "", 400,
     "PATCH /drives/rootfs: body field path_on_host: not supported (a drive's file is fixed at "
     "boot)"},
    {"BadMac", "PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "guest_mac": "06:00:ac"})",
     "", 400,
     "PUT /network-interfaces/eth0: body field guest_mac: expected a MAC address like "
     "06:00:ac:10:00:02"},
    {"MulticastMac", "PUT", "/network-interfaces/eth0",
     R"({"iface_id": "eth0", "guest_mac": "01:00:5e:00:00:01"})", "", 400,
     "PUT /network-interfaces/eth0: body field guest_mac: a multicast address, expected unicast"},
    {"HostDevNameTooLong", "PUT", "/network-interfaces/eth0",
     R"({"iface_id": "eth0", "host_dev_name": "abcdefghijklmnop"})", "", 400,
     "PUT /network-interfaces/eth0: body field host_dev_name: 16 bytes, at most 15"},
    {"HostDevNameSlash", "PUT", "/network-interfaces/eth0",
     R"({"iface_id": "eth0", "host_dev_name": "../tap"})", "", 400,
     "PUT /network-interfaces/eth0: body field host_dev_name: expected at most 15 characters from "
     "A-Z a-z 0-9 _ . -"},
    {"Mtu", "PUT", "/network-interfaces/eth0", R"({"iface_id": "eth0", "mtu": 9000})", "", 400,
     "PUT /network-interfaces/eth0: body field mtu: unknown field"},
    {"UnknownAction", "PUT", "/actions", R"({"action_type": "Reboot"})", "", 400,
     "PUT /actions: body field action_type: expected one of \"InstanceStart\", \"SendCtrlAltDel\", "
     "\"FlushMetrics\", \"Shutdown\", got \"Reboot\""},
    {"TimeoutWithoutShutdown", "PUT", "/actions",
     R"({"action_type": "InstanceStart", "timeout_s": 5})", "", 400,
     "PUT /actions: body field timeout_s: only for action_type \"Shutdown\""},
    {"ShutdownTimeoutZero", "PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 0})", "",
     400, "PUT /actions: body field timeout_s: expected an integer from 1 to 3600, got 0"},
    {"BadVmState", "PATCH", "/vm", R"({"state": "Running"})", "", 400,
     "PATCH /vm: body field state: expected one of \"Paused\", \"Resumed\", got \"Running\""},
    {"LoggerWithoutPath", "PUT", "/logger", R"({"level": "Info"})", "", 400,
     "PUT /logger: body field log_path: required"},
    {"LoggerBothPaths", "PUT", "/logger", R"({"log_path": "a", "log_fifo": "b"})", "", 400,
     "PUT /logger: body field log_fifo: give log_path or log_fifo, not both"},
    {"LoggerVerbose", "PUT", "/logger", R"({"log_path": "a", "level": "Verbose"})", "", 400,
     "PUT /logger: body field level: expected one of Error, Warning, Info, Debug, Trace, Off, got \"Verbose\""},
    {"MetricsEmpty", "PUT", "/metrics", "{}", "", 400, "PUT /metrics: body field metrics_path: required"},
    {"MetricsUnknown", "PUT", "/metrics", R"({"metrics_path": "m", "emit_id": true})", "", 400,
     "PUT /metrics: body field emit_id: unknown field"},
    // PUT /vsock (Firecracker's Vsock) and PUT /tpm (Bulwark's)
    {"VsockWithoutCid", "PUT", "/vsock", R"({"uds_path": "v.sock"})", "", 400,
     "PUT /vsock: body field guest_cid: required"},
    {"VsockWithoutUdsPath", "PUT", "/vsock", R"({"guest_cid": 3})", "", 400,
     "PUT /vsock: body field uds_path: required"},
    {"VsockHostCid", "PUT", "/vsock", R"({"guest_cid": 2, "uds_path": "v"})", "", 400,
     "PUT /vsock: body field guest_cid: expected an integer from 3 to 4294967294, got 2"},
    {"VsockCidAny", "PUT", "/vsock", R"({"guest_cid": 4294967295, "uds_path": "v"})", "", 400,
     "PUT /vsock: body field guest_cid: expected an integer from 3 to 4294967294, got 4294967295"},
    {"VsockNegativeCid", "PUT", "/vsock", R"({"guest_cid": -3, "uds_path": "v"})", "", 400,
     "PUT /vsock: body field guest_cid: expected an integer from 3 to 4294967294, got -3"},
    {"VsockCidAsString", "PUT", "/vsock", R"({"guest_cid": "3", "uds_path": "v"})", "", 400,
     "PUT /vsock: body field guest_cid: expected an integer from 3 to 4294967294, got a string"},
    {"VsockEmptyUdsPath", "PUT", "/vsock", R"({"guest_cid": 3, "uds_path": ""})", "", 400,
     "PUT /vsock: body field uds_path: 0 bytes, at least 1"},
    {"VsockUdsPathControl", "PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "v\u0000"})", "", 400,
     "PUT /vsock: body field uds_path: byte 1 is a control character"},
    {"VsockIdTooLong", "PUT", "/vsock",
     R"({"vsock_id": ")" + long_text(65) + R"(", "guest_cid": 3, "uds_path": "v"})", "", 400,
     "PUT /vsock: body field vsock_id: 65 bytes, at most 64"},
    {"VsockUnknownField", "PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "v", "dir": "/tmp"})", "", 400,
     "PUT /vsock: body field dir: unknown field"},
    {"GetVsock", "GET", "/vsock", "", "", 405, "GET /vsock: method not allowed (allowed: PUT)"},
    {"TpmEmpty", "PUT", "/tpm", "{}", "", 400, "PUT /tpm: body field enabled: required"},
    {"TpmEnabledString", "PUT", "/tpm", R"({"enabled": "true"})", "", 400,
     "PUT /tpm: body field enabled: expected a boolean, got a string"},
    {"TpmUnknownField", "PUT", "/tpm", R"({"enabled": true, "version": "2.0"})", "", 400,
     "PUT /tpm: body field version: unknown field"},
};

class ApiRoutesRefusal : public testing::TestWithParam<Refusal> {};

TEST_P(ApiRoutesRefusal, AnswersTheFault) {
  const Refusal& r = GetParam();
  const Routed routed = route(test::request(r.method, r.path, r.body, r.content_type));
  ASSERT_FALSE(routed.command) << command_name(*routed.command);
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.response->status, r.status);
  EXPECT_EQ(routed.response->content_type, "application/json");
  const auto fault = nlohmann::json::parse(routed.response->body, nullptr, false);
  ASSERT_TRUE(fault.is_object()) << routed.response->body;
  ASSERT_EQ(fault.size(), 1u) << routed.response->body;
  EXPECT_EQ(fault.value("fault_message", ""), r.message);
}

INSTANTIATE_TEST_SUITE_P(All, ApiRoutesRefusal, testing::ValuesIn(kRefusals),
                         [](const auto& info) { return std::string(info.param.name); });

// An unknown field's name is the client's text: it is echoed escaped and cut short.
TEST(ApiRoutesRefusalEcho, UnknownFieldNameIsEscapedAndBounded) {
  const std::string key = "\\u001b" + std::string(200, 'k');
  const Routed routed =
      route(test::request("PUT", "/entropy", "{\"" + key + "\": 1}"));
  ASSERT_TRUE(routed.response);
  const auto fault = nlohmann::json::parse(routed.response->body);
  EXPECT_EQ(fault["fault_message"], "PUT /entropy: body field \\x1b" + std::string(63, 'k') +
                                        "...: unknown field");
}

}  // namespace
}  // namespace bulwark::api
