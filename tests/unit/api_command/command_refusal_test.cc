// What a compromised bulwark-api could send the launcher: every class of malformed command is
// refused, with a message naming the field, and no length can wrap an offset.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "api/command/command.h"
#include "command_examples.h"
#include "message_builder.h"

namespace bulwark::api {
namespace {

using test::MessageBuilder;
using namespace std::literals;

// A record's fields in order, so a case can replace, drop, repeat or reorder one.
struct Field {
  uint16_t tag;
  std::function<void(MessageBuilder&)> write;
};
using Fields = std::vector<Field>;

std::vector<uint8_t> build(uint16_t kind, const Fields& fields) {
  MessageBuilder message = MessageBuilder::command(kind);
  for (const auto& field : fields) field.write(message);
  return message.bytes();
}
Fields with(Fields fields, uint16_t tag, std::function<void(MessageBuilder&)> write) {
  for (auto& field : fields)
    if (field.tag == tag) field.write = std::move(write);
  return fields;
}
Fields inserted(Fields fields, size_t index, Field field) {
  fields.insert(fields.begin() + static_cast<ptrdiff_t>(index), std::move(field));
  return fields;
}
Fields swapped(Fields fields, size_t a, size_t b) {
  std::swap(fields[a], fields[b]);
  return fields;
}
Fields without(Fields fields, uint16_t tag) {
  std::erase_if(fields, [tag](const Field& f) { return f.tag == tag; });
  return fields;
}
std::function<void(MessageBuilder&)> text(uint16_t tag, std::string value) {
  return [tag, value](MessageBuilder& m) { m.text(tag, value); };
}
std::function<void(MessageBuilder&)> u64(uint16_t tag, uint64_t value) {
  return [tag, value](MessageBuilder& m) { m.u64(tag, value); };
}
std::function<void(MessageBuilder&)> boolean(uint16_t tag, uint8_t value) {
  return [tag, value](MessageBuilder& m) { m.boolean(tag, value); };
}
std::function<void(MessageBuilder&)> nested(uint16_t tag, MessageBuilder record) {
  return [tag, record](MessageBuilder& m) { m.nested(tag, record); };
}
std::function<void(MessageBuilder&)> raw_field(uint16_t tag, std::string value) {
  return text(tag, std::move(value));
}

const Fields kBootSource = {
    {1, text(1, "vmlinux")}, {2, text(2, "")}, {3, text(3, "console=ttyS0")}};
const Fields kMachine = {
    {1, u64(1, 2)}, {2, u64(2, 512)}, {3, boolean(3, 0)}, {4, boolean(4, 0)}, {5, text(5, "")}};
const Fields kDrive = {{1, text(1, "rootfs")}, {2, text(2, "rootfs.ext4")},
                       {3, boolean(3, 1)},     {4, boolean(4, 0)},
                       {5, text(5, "raw")},    {6, nested(6, MessageBuilder::record())}};
const Fields kNet = {{1, text(1, "eth0")},
                     {2, text(2, "")},
                     {3, text(3, "")},
                     {4, nested(4, MessageBuilder::record())},
                     {5, nested(5, MessageBuilder::record())}};
constexpr uint16_t kBootSourceKind = 1, kMachineKind = 2, kDriveKind = 3, kNetKind = 4,
                   kEntropyKind = 5, kInstanceStartKind = 6, kShutdownKind = 13,
                   kPatchDriveKind = 14, kPatchNetKind = 15;

// A rate limiter record with the given buckets.
MessageBuilder limiter(std::optional<MessageBuilder> bandwidth, std::optional<MessageBuilder> ops) {
  MessageBuilder r = MessageBuilder::record();
  if (bandwidth) r.nested(1, *bandwidth);
  if (ops) r.nested(2, *ops);
  return r;
}
std::vector<uint8_t> drive_with_limiter(MessageBuilder rate_limiter) {
  return build(kDriveKind, with(kDrive, 6, nested(6, rate_limiter)));
}
std::vector<uint8_t> raw(std::string_view bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<uint8_t> append(std::vector<uint8_t> bytes, std::string_view tail) {
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  return bytes;
}

struct RefusalCase {
  const char* name;
  std::vector<uint8_t> bytes;
  std::string error;
};

std::vector<RefusalCase> refusal_cases() {
  const uint64_t k2p53 = uint64_t{1} << 53;
  // boot_args that make kBootSource exactly kMaxMessageBytes long: the header, three field
  // headers and "vmlinux" take the rest.
  const size_t kBootArgsFillingMessage = kMaxMessageBytes - 6 - 3 * 6 - 7;
  const std::string nul_path("a\0b", 3);
  return {
      // ---- the message ----
      {"empty", {}, "command: 0 bytes, shorter than the 6-byte header"},
      {"short header", raw("BWC1\x06"), "command: 5 bytes, shorter than the 6-byte header"},
      {"reply magic", MessageBuilder("BWR1", kInstanceStartKind).bytes(),
       "command: wrong magic, expected BWC1"},
      {"lower-case magic", MessageBuilder("bwc1", kInstanceStartKind).bytes(),
       "command: wrong magic, expected BWC1"},
      {"kind 0", MessageBuilder::command(0).bytes(), "command: unknown kind 0"},
      {"kind after the last", MessageBuilder::command(24).bytes(), "command: unknown kind 24"},
      {"kind 65535", MessageBuilder::command(65535).bytes(), "command: unknown kind 65535"},
      {"over the size limit",
       build(kBootSourceKind,
             with(kBootSource, 3, text(3, std::string(kBootArgsFillingMessage + 1, 'a')))),
       "command: " + std::to_string(kMaxMessageBytes + 1) + " bytes, at most " + std::to_string(kMaxMessageBytes)},
      {"at the size limit, field too long",
       build(kBootSourceKind,
             with(kBootSource, 3, text(3, std::string(kBootArgsFillingMessage, 'a')))),
       "PutBootSource.boot_args: " + std::to_string(kBootArgsFillingMessage) + " bytes, at most 2048"},
      // ---- framing ----
      {"field in a command without fields",
       MessageBuilder::command(kInstanceStartKind).boolean(1, 1).bytes(),
       "InstanceStart: unknown tag 1"},
      {"unknown tag after the last", build(kDriveKind, inserted(kDrive, 6, {7, text(7, "x")})),
       "PutDrive: unknown tag 7"},
      {"tag 0", build(kDriveKind, inserted(kDrive, 0, {0, text(0, "x")})),
       "PutDrive: unknown tag 0"},
      {"tag 65535", build(kDriveKind, inserted(kDrive, 6, {65535, text(65535, "")})),
       "PutDrive: unknown tag 65535"},
      {"repeated tag", build(kDriveKind, inserted(kDrive, 2, kDrive[1])),
       "PutDrive.path_on_host: appears twice"},
      {"out of order", build(kDriveKind, swapped(kDrive, 2, 3)),
       "PutDrive.is_root_device: out of order (tag 3 after tag 4)"},
      {"missing bool", build(kDriveKind, without(kDrive, 4)), "PutDrive.is_read_only: missing"},
      {"missing rate limiter", build(kDriveKind, without(kDrive, 6)),
       "PutDrive.rate_limiter: missing"},
      {"missing first field", build(kBootSourceKind, without(kBootSource, 1)),
       "PutBootSource.kernel_image_path: missing"},
      {"missing everything", MessageBuilder::command(kMachineKind).bytes(),
       "PutMachineConfig.vcpu_count: missing"},
      {"3 trailing bytes", append(build(kDriveKind, kDrive), "\x01\x00\x00"sv),
       "PutDrive: trailing bytes (3), not a whole field header"},
      {"5 trailing bytes", append(build(kShutdownKind, {{1, u64(1, 5)}}), "\x01\x00\x00\x00\x00"sv),
       "Shutdown: trailing bytes (5), not a whole field header"},
      {"length past the end",
       append(MessageBuilder::command(kDriveKind).text(1, "d").field_header(2, 100).bytes(),
              "abcde"),
       "PutDrive.path_on_host: length 100, only 5 bytes left"},
      {"length 2^32-1",
       append(MessageBuilder::command(kBootSourceKind).field_header(1, 0xffffffff).bytes(), "abc"),
       "PutBootSource.kernel_image_path: length 4294967295, only 3 bytes left"},
      {"length wrapping a 32-bit offset to the start",
       MessageBuilder::command(kBootSourceKind).field_header(1, 0xfffffff4).bytes(),
       "PutBootSource.kernel_image_path: length 4294967284, only 0 bytes left"},
      {"nested length 2^32-16",
       MessageBuilder::command(kEntropyKind)
           .nested(1, MessageBuilder::record().field_header(1, 0xfffffff0))
           .bytes(),
       "PutEntropy.rate_limiter.bandwidth: length 4294967280, only 0 bytes left"},
      // ---- strings ----
      {"path too long", build(kDriveKind, with(kDrive, 2, text(2, std::string(5000, 'p')))),
       "PutDrive.path_on_host: 5000 bytes, at most 4096"},
      {"empty kernel path", build(kBootSourceKind, with(kBootSource, 1, text(1, ""))),
       "PutBootSource.kernel_image_path: 0 bytes, at least 1"},
      {"empty metrics path", MessageBuilder::command(17).text(1, "").bytes(),
       "PutMetrics.metrics_path: 0 bytes, at least 1"},
      {"boot args too long",
       build(kBootSourceKind, with(kBootSource, 3, text(3, std::string(2049, 'a')))),
       "PutBootSource.boot_args: 2049 bytes, at most 2048"},
      {"drive id too long", build(kDriveKind, with(kDrive, 1, text(1, std::string(65, 'd')))),
       "PutDrive.drive_id: 65 bytes, at most 64"},
      {"empty drive id", build(kDriveKind, with(kDrive, 1, text(1, ""))),
       "PutDrive.drive_id: 0 bytes, at least 1"},
      {"drive id with a slash", build(kDriveKind, with(kDrive, 1, text(1, "../x"))),
       "PutDrive.drive_id: byte 0 is not one of [A-Za-z0-9_-]"},
      {"drive id with a space", build(kDriveKind, with(kDrive, 1, text(1, "a b"))),
       "PutDrive.drive_id: byte 1 is not one of [A-Za-z0-9_-]"},
      {"drive id not ASCII", build(kDriveKind, with(kDrive, 1, text(1, "\xc3\xa9"))),
       "PutDrive.drive_id: byte 0 is not one of [A-Za-z0-9_-]"},
      {"patch drive id", MessageBuilder::command(kPatchDriveKind).text(1, "a.b").bytes(),
       "PatchDrive.drive_id: byte 1 is not one of [A-Za-z0-9_-]"},
      {"iface id too long", build(kNetKind, with(kNet, 1, text(1, std::string(16, 'i')))),
       "PutNetworkInterface.iface_id: 16 bytes, at most 15"},
      {"mac too long", build(kNetKind, with(kNet, 2, text(2, std::string(65, 'm')))),
       "PutNetworkInterface.guest_mac: 65 bytes, at most 64"},
      {"NUL in a path", build(kDriveKind, with(kDrive, 2, text(2, nul_path))),
       "PutDrive.path_on_host: byte 1 is a control character"},
      {"newline in boot args",
       build(kBootSourceKind, with(kBootSource, 3, text(3, "console=ttyS0\ninit=/x"))),
       "PutBootSource.boot_args: byte 13 is a control character"},
      {"escape in a path", build(kDriveKind, with(kDrive, 2, text(2, "\x1b[2J"))),
       "PutDrive.path_on_host: byte 0 is a control character"},
      {"tab in a path", build(kDriveKind, with(kDrive, 2, text(2, "a\tb"))),
       "PutDrive.path_on_host: byte 1 is a control character"},
      {"DEL in a level",
       MessageBuilder::command(16)
           .text(1, "x")
           .text(2, "In\x7f")
           .boolean(3, 0)
           .boolean(4, 0)
           .text(5, "")
           .bytes(),
       "PutLogger.level: byte 2 is a control character"},
      {"module too long",
       MessageBuilder::command(16)
           .text(1, "x")
           .text(2, "Info")
           .boolean(3, 0)
           .boolean(4, 0)
           .text(5, std::string(65, 'm'))
           .bytes(),
       "PutLogger.module: 65 bytes, at most 64"},
      {"logger without module",
       MessageBuilder::command(16).text(1, "x").text(2, "Info").boolean(3, 0).boolean(4, 0).bytes(),
       "PutLogger.module: missing"},
      {"C1 CSI in a cpu template", build(kMachineKind, with(kMachine, 5, text(5, "T\xc2\x9b"))),
       "PutMachineConfig.cpu_template: byte 1 is a control character"},
      {"stray continuation byte", build(kDriveKind, with(kDrive, 2, text(2, "\x80"))),
       "PutDrive.path_on_host: byte 0 is not valid UTF-8"},
      {"overlong slash", build(kDriveKind, with(kDrive, 2, text(2, "a\xc0\xaf"))),
       "PutDrive.path_on_host: byte 1 is not valid UTF-8"},
      {"overlong 3-byte", build(kDriveKind, with(kDrive, 2, text(2, "\xe0\x80\xaf"))),
       "PutDrive.path_on_host: byte 0 is not valid UTF-8"},
      {"surrogate", build(kDriveKind, with(kDrive, 2, text(2, "\xed\xa0\x80"))),
       "PutDrive.path_on_host: byte 0 is not valid UTF-8"},
      {"beyond U+10FFFF", build(kDriveKind, with(kDrive, 2, text(2, "\xf4\x90\x80\x80"))),
       "PutDrive.path_on_host: byte 0 is not valid UTF-8"},
      {"lead byte F5", build(kDriveKind, with(kDrive, 2, text(2, "\xf5\x80\x80\x80"))),
       "PutDrive.path_on_host: byte 0 is not valid UTF-8"},
      {"truncated sequence", build(kDriveKind, with(kDrive, 2, text(2, "ab\xe2\x82"))),
       "PutDrive.path_on_host: byte 2 is not valid UTF-8"},
      // ---- integers ----
      {"vcpu_count 0", build(kMachineKind, with(kMachine, 1, u64(1, 0))),
       "PutMachineConfig.vcpu_count: 0, must be 1..32"},
      {"vcpu_count 33", build(kMachineKind, with(kMachine, 1, u64(1, 33))),
       "PutMachineConfig.vcpu_count: 33, must be 1..32"},
      {"vcpu_count 2^64-1", build(kMachineKind, with(kMachine, 1, u64(1, UINT64_MAX))),
       "PutMachineConfig.vcpu_count: 18446744073709551615, must be 1..32"},
      {"mem_size_mib 0", build(kMachineKind, with(kMachine, 2, u64(2, 0))),
       "PutMachineConfig.mem_size_mib: 0, must be 1..1048576"},
      {"mem_size_mib 1048577", build(kMachineKind, with(kMachine, 2, u64(2, 1048577))),
       "PutMachineConfig.mem_size_mib: 1048577, must be 1..1048576"},
      {"integer of 4 bytes",
       build(kMachineKind, with(kMachine, 1, raw_field(1, std::string("\x02\0\0\0", 4)))),
       "PutMachineConfig.vcpu_count: 4 bytes, an integer is 8"},
      {"integer of 9 bytes",
       build(kMachineKind, with(kMachine, 2, raw_field(2, std::string(9, '\0')))),
       "PutMachineConfig.mem_size_mib: 9 bytes, an integer is 8"},
      {"integer of 0 bytes", MessageBuilder::command(kShutdownKind).text(1, "").bytes(),
       "Shutdown.timeout_s: 0 bytes, an integer is 8"},
      {"timeout 0", MessageBuilder::command(kShutdownKind).u64(1, 0).bytes(),
       "Shutdown.timeout_s: 0, must be 1..3600"},
      {"timeout 3601", MessageBuilder::command(kShutdownKind).u64(1, 3601).bytes(),
       "Shutdown.timeout_s: 3601, must be 1..3600"},
      // ---- booleans ----
      {"boolean 2", build(kMachineKind, with(kMachine, 3, boolean(3, 2))),
       "PutMachineConfig.smt: 2, a boolean is 0 or 1"},
      {"boolean 0xff", MessageBuilder::command(10).boolean(1, 0xff).bytes(),
       "SetVmState.paused: 255, a boolean is 0 or 1"},
      {"boolean of 0 bytes", build(kMachineKind, with(kMachine, 4, raw_field(4, ""))),
       "PutMachineConfig.track_dirty_pages: 0 bytes, a boolean is 1"},
      {"boolean of 2 bytes",
       build(kMachineKind, with(kMachine, 3, raw_field(3, std::string(2, '\0')))),
       "PutMachineConfig.smt: 2 bytes, a boolean is 1"},
      // ---- rate limiters ----
      {"bucket size 2^53+1",
       drive_with_limiter(limiter(MessageBuilder::bucket(k2p53 + 1, 1, 0), {})),
       "PutDrive.rate_limiter.bandwidth.size: 9007199254740993, must be 0..9007199254740992"},
      {"burst 2^53+1", drive_with_limiter(limiter({}, MessageBuilder::bucket(1, 1, k2p53 + 1))),
       "PutDrive.rate_limiter.ops.one_time_burst: 9007199254740993, must be 0..9007199254740992"},
      {"refill over an hour",
       drive_with_limiter(limiter(MessageBuilder::bucket(1, 3600001, 0), {})),
       "PutDrive.rate_limiter.bandwidth.refill_time_ms: 3600001, must be 0..3600000"},
      {"size without refill", drive_with_limiter(limiter(MessageBuilder::bucket(5, 0, 0), {})),
       "PutDrive.rate_limiter.bandwidth.refill_time_ms: 0 with size 5 (a bucket with a size "
       "needs a refill time)"},
      {"unknown limiter tag",
       drive_with_limiter(MessageBuilder::record().nested(3, MessageBuilder::bucket(1, 1, 1))),
       "PutDrive.rate_limiter: unknown tag 3"},
      {"limiter buckets out of order",
       MessageBuilder::command(kEntropyKind)
           .nested(1, MessageBuilder::record()
                          .nested(2, MessageBuilder::bucket(1, 1, 1))
                          .nested(1, MessageBuilder::bucket(1, 1, 1)))
           .bytes(),
       "PutEntropy.rate_limiter.bandwidth: out of order (tag 1 after tag 2)"},
      {"bucket missing a field",
       MessageBuilder::command(kPatchDriveKind)
           .text(1, "d")
           .nested(2,
                   MessageBuilder::record().nested(2, MessageBuilder::record().u64(1, 1).u64(2, 1)))
           .bytes(),
       "PatchDrive.rate_limiter.ops.one_time_burst: missing"},
      {"bucket with trailing bytes",
       MessageBuilder::command(kPatchDriveKind)
           .text(1, "d")
           .nested(2,
                   MessageBuilder::record().nested(2, MessageBuilder::bucket(1, 1, 1).raw("\x01")))
           .bytes(),
       "PatchDrive.rate_limiter.ops: trailing bytes (1), not a whole field header"},
      {"tx limiter named",
       MessageBuilder::command(kPatchNetKind)
           .text(1, "eth0")
           .nested(2, MessageBuilder::record())
           .nested(3, limiter(MessageBuilder::bucket(1, 3600001, 0), {}))
           .bytes(),
       "PatchNetworkInterface.tx_rate_limiter.bandwidth.refill_time_ms: 3600001, must be "
       "0..3600000"},
      {"rate limiter as a boolean", drive_with_limiter(MessageBuilder::record().raw("\x01")),
       "PutDrive.rate_limiter: trailing bytes (1), not a whole field header"},
  };
}

TEST(ApiCommandRefusal, EachMalformedCommandNamesItsField) {
  for (const auto& c : refusal_cases()) {
    SCOPED_TRACE(c.name);
    auto decoded = decode_command(c.bytes);
    ASSERT_FALSE(decoded.ok()) << "accepted: " << command_name(*decoded);
    EXPECT_EQ(decoded.error().message(), c.error);
  }
}

// A length near 2^32 in any field of any record: refused, never read past the buffer (ASan).
TEST(ApiCommandRefusal, HostileLengthsDoNotWrap) {
  const uint32_t lengths[] = {0xffffffff, 0xfffffffe, 0xfffffffa, 0xfffffff9, 0xfffffff4,
                              0x80000000, 0x7fffffff, 65536,      65531};
  for (uint32_t length : lengths) {
    SCOPED_TRACE(length);
    for (uint16_t kind = 1; kind <= 19; ++kind) {
      for (uint16_t tag = 1; tag <= 3; ++tag) {
        auto top = MessageBuilder::command(kind).field_header(tag, length).raw("0123456789");
        EXPECT_FALSE(decode_command(top.bytes()).ok());
      }
    }
    auto deep = MessageBuilder::command(kEntropyKind)
                    .nested(1, MessageBuilder::record().nested(
                                   2, MessageBuilder::record().u64(1, 1).field_header(2, length)));
    auto decoded = decode_command(deep.bytes());
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message(), "PutEntropy.rate_limiter.ops.refill_time_ms: length " +
                                             std::to_string(length) + ", only 0 bytes left");
  }
}

// Every strict prefix of a valid command is refused: a datagram cut short never decodes to a
// different command.
TEST(ApiCommandRefusal, EveryTruncationIsRefused) {
  for (const auto& example : test::command_examples()) {
    SCOPED_TRACE(example.name);
    const auto bytes = encode_command(example.command);
    for (size_t size = 0; size < bytes.size(); ++size)
      EXPECT_FALSE(decode_command(std::span(bytes).first(size)).ok()) << "prefix " << size;
  }
}

// Any single-bit change either is refused or decodes to a command that encodes back to exactly
// the changed bytes (no two byte strings mean the same command).
TEST(ApiCommandRefusal, BitFlipsAreRefusedOrCanonical) {
  for (const auto& example : test::command_examples()) {
    SCOPED_TRACE(example.name);
    const auto bytes = encode_command(example.command);
    for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
      auto changed = bytes;
      changed[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      auto decoded = decode_command(changed);
      if (decoded.ok()) {
        EXPECT_EQ(encode_command(*decoded), changed) << "bit " << bit;
      }
    }
  }
}

}  // namespace
}  // namespace bulwark::api
