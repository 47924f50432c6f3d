// A VM's vTPM and measured launch end to end on a host without KVM (issue 16): the real
// launcher, the real swtpm (Debian's) in its jail, the stand-in monitor (standin_monitor.cc) in
// the monitor's. What a tenant or operator checks with tpm2-tools: tpm2_pcrread against the
// running swtpm gives the PCR values tpm2_eventlog replays from the event log the launcher wrote;
// a different kernel changes PCR 9; the TPM's state outlives the VM; a VM asking for a TPM on a
// host without one is refused by name. The quote: `bulwark attest quote` against the running
// VM's swtpm, accepted by tpm2_checkquote (the reference peer) and by `bulwark attest verify`,
// which refuses a wrong nonce, a flipped signature byte, a log that does not replay to the quote
// and a reference with another kernel, naming the check. Root needed; KVM not; skipped without
// swtpm or tpm2-tools.
#include <sys/stat.h>

#include <map>
#include <regex>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

using PcrTable = std::map<std::pair<std::string, int>, std::string>;  // (bank, PCR) -> hex, upper case

// "  sha256:\n    9 : 0x..." lines (tpm2_pcrread, and tpm2_eventlog's "pcrs:" section).
PcrTable parse_pcr_lines(const std::string& text, bool after_pcrs_heading) {
  static const std::regex kBank(R"(^\s*(sha256|sha384):\s*$)");
  static const std::regex kValue(R"(^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$)");
  PcrTable table;
  std::string bank;
  bool in_section = !after_pcrs_heading;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line == "pcrs:") in_section = true;
    if (!in_section) continue;
    std::smatch m;
    if (std::regex_match(line, m, kBank)) {
      bank = m[1];
    } else if (!bank.empty() && std::regex_match(line, m, kValue)) {
      std::string hex = m[2];
      for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      table[{bank, std::stoi(m[1])}] = hex;
    }
  }
  return table;
}

class JailTpmTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    for (const char* tool : {"/usr/bin/swtpm", "/usr/bin/swtpm_setup", "/usr/bin/tpm2_pcrread", "/usr/bin/tpm2_eventlog"}) {
      if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " missing (scripts/setup.sh installs swtpm, swtpm-tools, tpm2-tools)";
    }
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    kernel_ = images_ + "/kernel";  // never booted: the stand-in monitor boots nothing
    write_kernel("kernel one");
    state_dir_ = dir_ + "/tpm-state";
  }
  void write_kernel(const std::string& text) const {
    std::ofstream(kernel_, std::ios::trunc) << text;
    ::chmod(kernel_.c_str(), 0644);
  }
  // `report_key`: the host config's "tpm": {"report_key"}; `limits`: more of its vm_limits.
  void allow_tpm(const std::string& report_key = "", const std::string& limits = "") const {
    write_host_config(", \"selinux\": \"off\", \"tpm\": {\"state_dir\": \"" + state_dir_ + "\"" +
                          (report_key.empty() ? "" : ", \"report_key\": \"" + report_key + "\"") + "}",
                      limits);
  }
  std::string vm_config(bool tpm = true) const {
    return write_vm_config(dir_ + "/vm.json", kernel_,
                           std::string(", \"cmdline\": \"console=ttyS0 standin.wait\"") + (tpm ? ", \"tpm\": true" : "") +
                               (rng_ ? ", \"rng\": true" : ""));
  }
  Result<ChildProcess> start_vm() const {
    auto [program, args] = launcher_command_for_standin(
        BULWARK_JAILER, run_args(vm_config(), {"--monitor", BULWARK_STANDIN_MONITOR}), dir_ + "/dev-overlay");
    auto vm = ChildProcess::start(program, args);
    if (!vm.ok()) return vm.error();
    if (!vm->wait_for_stdout("STANDIN-RUNNING", 60s)) return Error("the VM did not start: " + vm->wait(1s).describe());
    return vm;
  }
  std::string tpm_run_dir() const { return run_dir_ + "/tpm/" + id_; }
  // tpm2_pcrread of PCRs 9 and 15, both banks, against the running VM's swtpm.
  PcrTable pcrread() const {
    ProcessResult read = run_process("/usr/bin/env", {"TPM2TOOLS_TCTI=swtpm:path=" + tpm_run_dir() + "/swtpm.sock",
                                                      "tpm2_pcrread", "sha256:9,15+sha384:9,15"},
                                     {}, 30s);
    EXPECT_TRUE(read.exited && read.exit_code == 0) << read.describe();
    return parse_pcr_lines(read.out, false);
  }
  // tpm2_eventlog's replay of the launcher's event log.
  PcrTable eventlog_replay() const {
    ProcessResult log = run_process("/usr/bin/tpm2_eventlog", {tpm_run_dir() + "/eventlog.bin"}, {}, 30s);
    EXPECT_TRUE(log.exited && log.exit_code == 0) << log.describe();
    return parse_pcr_lines(log.out, true);
  }
  ProcessResult stop_vm(ChildProcess& vm) const {
    EXPECT_TRUE(vm.send_signal(SIGTERM).ok());
    return vm.wait(60s);
  }

  void TearDown() override {
    if (!id_.empty()) {
      for (const std::string& leaf : cgroup_leaves(id_ + ".tpm")) ::rmdir(leaf.c_str());
    }
    JailTest::TearDown();
  }

  std::string images_, kernel_, state_dir_;
  bool rng_ = false;  // the VM has a bulwark-dev-rng: a device process whose jail profile is measured
};

TEST_F(JailTpmTest, PcrsEqualTheLogsReplay) {
  allow_tpm();
  auto first = start_vm();
  ASSERT_TRUE(first.ok()) << first.error().message();
  const PcrTable tpm_first = pcrread();
  const PcrTable log_first = eventlog_replay();
  for (const char* bank : {"sha256", "sha384"}) {
    for (int pcr : {9, 15}) {
      ASSERT_TRUE(tpm_first.contains({bank, pcr})) << bank << ":" << pcr;
      EXPECT_EQ(tpm_first.at({bank, pcr}), log_first.at({bank, pcr})) << bank << ":" << pcr;
      EXPECT_NE(tpm_first.at({bank, pcr}), std::string(bank == std::string("sha256") ? 64 : 96, '0'))
          << bank << ":" << pcr << " was never extended";
    }
  }
  // swtpm runs jailed in its own cgroup: as the VM's uid, PID 1 of a pid namespace of its own,
  // no capabilities, under the launcher's filter and its own (two stacked), on state it owns.
  pid_t swtpm = -1;
  std::istringstream(read_text(cgroup_leaves(id_ + ".tpm")[1] + "/cgroup.procs")) >> swtpm;
  ASSERT_GT(swtpm, 0) << "no process in swtpm's cgroup";
  EXPECT_EQ(status_field(swtpm, "Uid"), std::to_string(vm_uid_) + "\t" + std::to_string(vm_uid_) + "\t" +
                                            std::to_string(vm_uid_) + "\t" + std::to_string(vm_uid_));
  EXPECT_EQ(status_field(swtpm, "NSpid"), std::to_string(swtpm) + "\t1");
  EXPECT_EQ(status_field(swtpm, "CapEff"), "0000000000000000");
  EXPECT_EQ(status_field(swtpm, "CapBnd"), "0000000000000000");
  EXPECT_EQ(status_field(swtpm, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(swtpm, "Seccomp"), "2");
  EXPECT_EQ(status_field(swtpm, "Seccomp_filters"), "2");
  const std::string stat_dir = state_dir_ + "/" + id_;
  struct stat st{};
  ASSERT_EQ(::stat(stat_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, vm_uid_);
  ProcessResult ended = stop_vm(*first);
  EXPECT_TRUE(ended.exited && ended.exit_code == 0) << ended.describe();
  EXPECT_NE(ended.err.find("TPM state created"), std::string::npos) << ended.describe();
  EXPECT_NE(ended.err.find("measured launch:"), std::string::npos) << ended.describe();

  // Teardown removed the run directory (sockets, log) and kept the TPM's state.
  EXPECT_FALSE(fs::exists(tpm_run_dir()));
  EXPECT_TRUE(fs::exists(stat_dir + "/tpm2-00.permall"));
  // ... back in root's hands: the next VM given this uid does not own it.
  ASSERT_EQ(::stat((stat_dir + "/tpm2-00.permall").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  expect_nothing_left();
  EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_ + ".tpm")) << "swtpm's jail left behind";
  for (const std::string& leaf : cgroup_leaves(id_ + ".tpm")) EXPECT_FALSE(fs::exists(leaf)) << leaf;

  // Same VM, another kernel: PCR 9 differs, the isolation (PCR 15) does not; the state is
  // reused, not made again.
  write_kernel("kernel two");
  auto second = start_vm();
  ASSERT_TRUE(second.ok()) << second.error().message();
  const PcrTable tpm_second = pcrread();
  const PcrTable log_second = eventlog_replay();
  EXPECT_EQ(tpm_second, log_second);
  EXPECT_NE(tpm_second.at({"sha256", 9}), tpm_first.at({"sha256", 9}));
  EXPECT_NE(tpm_second.at({"sha384", 9}), tpm_first.at({"sha384", 9}));
  EXPECT_EQ(tpm_second.at({"sha256", 15}), tpm_first.at({"sha256", 15}));
  ProcessResult second_end = stop_vm(*second);
  EXPECT_TRUE(second_end.exited && second_end.exit_code == 0) << second_end.describe();
  EXPECT_EQ(second_end.err.find("TPM state created"), std::string::npos) << second_end.describe();
  EXPECT_TRUE(fs::exists(stat_dir + "/tpm2-00.permall"));
  expect_nothing_left();
}

// A byte of `path` xor 0x01 (`offset` from the end when negative).
void flip_byte(const std::string& path, long offset) {
  std::string bytes = read_text(path);
  ASSERT_FALSE(bytes.empty()) << path;
  const size_t at = offset < 0 ? bytes.size() - static_cast<size_t>(-offset) : static_cast<size_t>(offset);
  ASSERT_LT(at, bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_F(JailTpmTest, QuoteVerifies) {
  if (::access("/usr/bin/tpm2_checkquote", X_OK) != 0) GTEST_SKIP() << "tpm2_checkquote missing";
  allow_tpm();
  auto vm = start_vm();
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  const std::string nonce = "5eed0f0e5eed0f0e5eed0f0e5eed0f0e5eed0f0e5eed0f0e5eed0f0e5eed0f0e";
  const std::string evidence = dir_ + "/evidence";
  ProcessResult quote = run_process(BULWARK_JAILER, {"attest", "quote", "--vm-id", id_, "--nonce", nonce, "--out", evidence,
                                                     "--run-dir", run_dir_},
                                    {}, 60s);
  ASSERT_TRUE(quote.exited && quote.exit_code == 0) << quote.describe();
  const PcrTable tpm = pcrread();
  ProcessResult ended = stop_vm(*vm);
  EXPECT_TRUE(ended.exited && ended.exit_code == 0) << ended.describe();
  // The launcher's attestation key is the one the quote was made with.
  EXPECT_NE(ended.err.find("attestation key"), std::string::npos) << ended.describe();

  // (a) tpm2-tools, the independent check: the AK (TPM2B_PUBLIC and PEM), the nonce, the PCR values.
  for (const char* key : {"ak.pub", "ak.pem"}) {
    ProcessResult checked = run_process(
        "/usr/bin/tpm2_checkquote", {"-u", evidence + "/" + key, "-m", evidence + "/quote.msg", "-s", evidence + "/quote.sig",
                                     "-f", evidence + "/pcrs", "-F", "values", "-l", "sha256:9,15", "-g", "sha256", "-q", nonce},
        {}, 30s);
    EXPECT_TRUE(checked.exited && checked.exit_code == 0) << key << ": " << checked.describe();
  }
  ProcessResult wrong_peer = run_process(
      "/usr/bin/tpm2_checkquote", {"-u", evidence + "/ak.pub", "-m", evidence + "/quote.msg", "-s", evidence + "/quote.sig",
                                   "-f", evidence + "/pcrs", "-F", "values", "-l", "sha256:9,15", "-g", "sha256", "-q", "00" + nonce.substr(2)},
      {}, 30s);
  EXPECT_FALSE(wrong_peer.exited && wrong_peer.exit_code == 0) << "tpm2_checkquote took another nonce";
  // The pcrs file holds what tpm2_pcrread reads.
  std::string pcrs_hex;
  for (unsigned char c : read_text(evidence + "/pcrs")) {
    static const char kDigits[] = "0123456789ABCDEF";
    pcrs_hex += kDigits[c >> 4];
    pcrs_hex += kDigits[c & 0xF];
  }
  EXPECT_EQ(pcrs_hex, tpm.at({"sha256", 9}) + tpm.at({"sha256", 15}));

  // (b) bulwark attest verify, unprivileged in spirit (no TPM, files only), with a reference
  // built from the tenant's own kernel and command line.
  const std::string reference = dir_ + "/reference.json";
  ProcessResult made = run_process(BULWARK_JAILER, {"attest", "reference", "--kernel", kernel_, "--cmdline",
                                                    "console=ttyS0 standin.wait", "--out", reference},
                                   {}, 30s);
  ASSERT_TRUE(made.exited && made.exit_code == 0) << made.describe();
  auto verify = [&](const std::string& dir, const std::string& with_nonce, const std::string& ref) {
    std::vector<std::string> args = {"attest", "verify", "--quote", dir, "--nonce", with_nonce};
    if (!ref.empty()) args.insert(args.end(), {"--reference", ref});
    return run_process(BULWARK_JAILER, args, {}, 30s);
  };
  ProcessResult good = verify(evidence, nonce, reference);
  EXPECT_TRUE(good.exited && good.exit_code == 0) << good.describe();
  EXPECT_NE(good.out.find("verified: every check passed"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("ok   reference kernel"), std::string::npos) << good.out;

  // Refusals, each naming its check.
  ProcessResult wrong_nonce = verify(evidence, "00" + nonce.substr(2), reference);
  EXPECT_TRUE(wrong_nonce.exited && wrong_nonce.exit_code == 1) << wrong_nonce.describe();
  EXPECT_NE(wrong_nonce.out.find("FAIL nonce"), std::string::npos) << wrong_nonce.out;
  EXPECT_NE(wrong_nonce.out.find("NOT verified: 1 check failed"), std::string::npos) << wrong_nonce.out;

  const std::string bad_signature = dir_ + "/evidence-signature";
  fs::copy(evidence, bad_signature);
  flip_byte(bad_signature + "/quote.sig", -1);  // the last byte of s
  ProcessResult forged = verify(bad_signature, nonce, "");
  EXPECT_TRUE(forged.exited && forged.exit_code == 1) << forged.describe();
  EXPECT_NE(forged.out.find("FAIL signature"), std::string::npos) << forged.out;

  const std::string bad_log = dir_ + "/evidence-log";
  fs::copy(evidence, bad_log);
  // The first byte of the first event's SHA-256 digest (the kernel's): 69-byte header, then
  // pcrIndex, eventType, digest count, algorithm id.
  flip_byte(bad_log + "/eventlog.bin", 69 + 4 + 4 + 4 + 2);
  ProcessResult replayed = verify(bad_log, nonce, "");
  EXPECT_TRUE(replayed.exited && replayed.exit_code == 1) << replayed.describe();
  EXPECT_NE(replayed.out.find("FAIL replay"), std::string::npos) << replayed.out;

  const std::string other_kernel = images_ + "/other-kernel";
  std::ofstream(other_kernel) << "another kernel";
  const std::string other_reference = dir_ + "/other-reference.json";
  ProcessResult other = run_process(BULWARK_JAILER, {"attest", "reference", "--kernel", other_kernel, "--cmdline",
                                                     "console=ttyS0 standin.wait", "--out", other_reference},
                                    {}, 30s);
  ASSERT_TRUE(other.exited && other.exit_code == 0) << other.describe();
  ProcessResult mismatch = verify(evidence, nonce, other_reference);
  EXPECT_TRUE(mismatch.exited && mismatch.exit_code == 1) << mismatch.describe();
  EXPECT_NE(mismatch.out.find("FAIL reference kernel"), std::string::npos) << mismatch.out;
  EXPECT_NE(mismatch.out.find("differs: expected sha256"), std::string::npos) << mismatch.out;
  expect_nothing_left();
}

// A fresh P-384 attestation key for the host, root's, mode `mode`; its public key beside it.
std::pair<std::string, std::string> make_report_key(const std::string& dir, mode_t mode) {
  const std::string key = dir + "/report-key.pem", pub = dir + "/report-key.pub.pem";
  ProcessResult made = run_process("/usr/bin/openssl", {"ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", key}, {}, 30s);
  EXPECT_TRUE(made.exited && made.exit_code == 0) << made.describe();
  ::chmod(key.c_str(), mode);
  ProcessResult public_key = run_process("/usr/bin/openssl", {"ec", "-in", key, "-pubout", "-out", pub}, {}, 30s);
  EXPECT_TRUE(public_key.exited && public_key.exit_code == 0) << public_key.describe();
  return {key, pub};
}

// The SHA-256 an item of a launch report lists (its keys are sorted: name, pcr, sha256).
std::string report_item_sha256(const std::string& report, const std::string& item) {
  const std::regex pattern("\"name\":\"" + item + "\",\"pcr\":[0-9]+,\"sha256\":\"([0-9a-f]{64})\"");
  std::smatch m;
  return std::regex_search(report, m, pattern) ? m[1].str() : "";
}

TEST_F(JailTpmTest, SignedLaunchReport) {
  if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "openssl missing";
  const auto keys = make_report_key(dir_, 0600);
  const std::string key = keys.first, pub = keys.second;
  allow_tpm(key);
  rng_ = true;
  auto vm = start_vm();
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  const std::string report = dir_ + "/launch-report.json", signature = dir_ + "/launch-report.sig";
  fs::copy_file(tpm_run_dir() + "/launch-report.json", report);
  fs::copy_file(tpm_run_dir() + "/launch-report.sig", signature);
  // The operator's copy in the VM's jail, the same bytes.
  EXPECT_EQ(read_text(base_dir_ + "/" + id_ + "/root/launch-report.json"), read_text(report));
  EXPECT_EQ(read_text(base_dir_ + "/" + id_ + "/root/launch-report.sig"), read_text(signature));
  // The new events, named, in what tpm2_eventlog reads.
  ProcessResult log = run_process("/usr/bin/tpm2_eventlog", {tpm_run_dir() + "/eventlog.bin"}, {}, 30s);
  ASSERT_TRUE(log.exited && log.exit_code == 0) << log.describe();
  const std::string nonce = "0123456789abcdef0123456789abcdef";
  const std::string evidence = dir_ + "/evidence";
  ProcessResult quote = run_process(BULWARK_JAILER, {"attest", "quote", "--vm-id", id_, "--nonce", nonce, "--out", evidence,
                                                     "--run-dir", run_dir_},
                                    {}, 60s);
  ASSERT_TRUE(quote.exited && quote.exit_code == 0) << quote.describe();
  ProcessResult ended = stop_vm(*vm);
  EXPECT_TRUE(ended.exited && ended.exit_code == 0) << ended.describe();
  EXPECT_NE(ended.err.find("signed report"), std::string::npos) << ended.describe();

  const std::string text = read_text(report);
  for (const char* item : {"vm-config", "jail profile monitor", "jail profile dev-rng", "jail profile swtpm",
                           "selinux monitor", "selinux dev-rng"}) {
    EXPECT_NE(report_item_sha256(text, item), "") << item << " not in the report";
    // tpm2_eventlog prints a tagged event's data in hex: the item's name with its NUL.
    std::string hex;
    for (unsigned char c : std::string(item) + '\0') {
      static const char kDigits[] = "0123456789abcdef";
      hex += kDigits[c >> 4];
      hex += kDigits[c & 0xF];
    }
    std::string lower = log.out;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_NE(lower.find(hex), std::string::npos) << item << " not in tpm2_eventlog's output\n" << log.out.substr(0, 2000);
  }
  EXPECT_NE(text.find("\"text\":\"off\""), std::string::npos) << "selinux off is measured as \"off\"";

  // OpenSSL's CLI, the independent peer: ECDSA P-384 over SHA-384, DER.
  ProcessResult peer = run_process("/usr/bin/openssl", {"dgst", "-sha384", "-verify", pub, "-signature", signature, report}, {}, 30s);
  EXPECT_TRUE(peer.exited && peer.exit_code == 0) << peer.describe();
  EXPECT_NE(peer.out.find("Verified OK"), std::string::npos) << peer.describe();

  auto verify = [&](const std::string& with_report) {
    return run_process(BULWARK_JAILER, {"attest", "verify", "--quote", evidence, "--nonce", nonce, "--report", with_report,
                                        "--host-key", pub},
                       {}, 30s);
  };
  ProcessResult good = verify(report);
  EXPECT_TRUE(good.exited && good.exit_code == 0) << good.describe();
  for (const char* line : {"ok   report signature", "ok   report event log", "ok   report PCRs", "ok   report items",
                           "ok   report selinux"}) {
    EXPECT_NE(good.out.find(line), std::string::npos) << line << "\n" << good.out;
  }

  // A flipped byte of the report: both refuse it, bulwark naming the check.
  const std::string forged = dir_ + "/forged.json";
  fs::copy_file(report, forged);
  fs::copy_file(signature, dir_ + "/forged.sig");
  flip_byte(forged, -3);
  ProcessResult peer_forged = run_process("/usr/bin/openssl", {"dgst", "-sha384", "-verify", pub, "-signature", dir_ + "/forged.sig", forged}, {}, 30s);
  EXPECT_FALSE(peer_forged.exited && peer_forged.exit_code == 0) << peer_forged.describe();
  ProcessResult refused = verify(forged);
  EXPECT_TRUE(refused.exited && refused.exit_code == 1) << refused.describe();
  EXPECT_NE(refused.out.find("FAIL report signature"), std::string::npos) << refused.out;
  expect_nothing_left();
}

TEST_F(JailTpmTest, ReportKeyReadableByOthersIsRefused) {
  if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "openssl missing";
  const auto keys = make_report_key(dir_, 0644);
  const std::string key = keys.first, pub = keys.second;
  allow_tpm(key);
  ProcessResult result = run_process(BULWARK_JAILER, run_args(vm_config()), {}, 60s);
  EXPECT_TRUE(result.exited && result.exit_code != 0) << result.describe();
  EXPECT_NE(result.err.find("host config /tpm/report_key"), std::string::npos) << result.describe();
  EXPECT_NE(result.err.find("mode 0644"), std::string::npos) << result.describe();
  EXPECT_FALSE(fs::exists(tpm_run_dir()));
  expect_nothing_left();
}

TEST_F(JailTpmTest, DeviceJailProfileIsInPcr15) {
  if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "openssl missing";
  const auto keys = make_report_key(dir_, 0400);
  const std::string key = keys.first, pub = keys.second;
  rng_ = true;
  std::string profiles[2];
  PcrTable pcrs[2];
  for (int i = 0; i < 2; ++i) {
    // The second launch: the operator halves the VM's CPU quota, a cgroup limit of every process.
    allow_tpm(key, i == 0 ? "" : ", \"cpu_quota_percent\": 50");
    auto vm = start_vm();
    ASSERT_TRUE(vm.ok()) << vm.error().message();
    profiles[i] = report_item_sha256(read_text(tpm_run_dir() + "/launch-report.json"), "jail profile dev-rng");
    pcrs[i] = pcrread();
    ProcessResult ended = stop_vm(*vm);
    EXPECT_TRUE(ended.exited && ended.exit_code == 0) << ended.describe();
  }
  ASSERT_NE(profiles[0], "");
  EXPECT_NE(profiles[0], profiles[1]);
  EXPECT_NE(pcrs[0].at({"sha256", 15}), pcrs[1].at({"sha256", 15}));
  EXPECT_EQ(pcrs[0].at({"sha256", 9}), pcrs[1].at({"sha256", 9})) << "the boot inputs and VM config did not change";
  expect_nothing_left();
}

TEST_F(JailTpmTest, RefusedWithoutHostTpm) {
  write_host_config(", \"selinux\": \"off\"");
  ProcessResult result = run_process(BULWARK_JAILER, run_args(vm_config()), {}, 30s);
  EXPECT_TRUE(result.exited && result.exit_code == 1) << result.describe();
  EXPECT_NE(result.err.find("config: /tpm: a TPM is not available on this host"), std::string::npos)
      << result.describe();
  EXPECT_FALSE(fs::exists(state_dir_));
  EXPECT_FALSE(fs::exists(base_dir_ + "/" + id_));
}

}  // namespace
}  // namespace bulwark::test
