#include "jailer/attest_cli/attest_command.h"

#include "jailer/attest_cli/attest_options.h"

namespace bulwark::attest_cli {

namespace {

const char kAttestUsage[] =
    "Usage: bulwark attest quote --vm-id ID --nonce HEX --out DIR [--run-dir DIR]\n"
    "       bulwark attest verify --quote DIR --nonce HEX [--reference FILE] [--report R --host-key PUB.pem]\n"
    "       bulwark attest reference --kernel FILE [--initrd FILE] --cmdline TEXT [--vm-config FILE]\n"
    "                                [--policy-dir DIR] [--binary NAME=FILE]... [--item NAME=FILE]...\n"
    "                                [--out FILE]\n"
    "\n"
    "quote (operator, root): a TPM2_Quote of PCRs 9 and 15 (SHA-256) by the VM's attestation key,\n"
    "  with the tenant's nonce (1 to 64 bytes in hex), from the running VM's swtpm under\n"
    "  RUN-DIR/tpm/ID (RUN-DIR: the host config's run_dir, default /run/bulwark). DIR receives\n"
    "  quote.msg, quote.sig, ak.pub, ak.pem, eventlog.bin and pcrs (tpm2-tools' formats).\n"
    "verify (tenant, any machine, no TPM): checks that evidence: the AK, the signature, the nonce,\n"
    "  the PCR selection, the event log's replay against the quoted PCR digest and, with a\n"
    "  reference, each measured item; with --report (GET /attestation's body, or launch-report.json\n"
    "  with launch-report.sig beside it) and the host's public key: the report's signature, that its\n"
    "  event log and PCRs are the quoted ones, its items the log's, and the per-launch SELinux rule.\n"
    "  One line per check; exit 0 only when all pass, 1 otherwise.\n"
    "reference (tenant): a reference file (JSON) from the tenant's own files: kernel, initrd and\n"
    "  command line (PCR 9), the VM config (--vm-config: the monitor's /vm.json, canonicalized; PCR 9);\n"
    "  each *.policy of --policy-dir as \"seccomp NAME\", each --binary as\n"
    "  \"binary NAME\", each --item as NAME (PCR 15). Written to --out or stdout.\n"
    "(attestation/README.md \"Quote and verify\")\n";

}  // namespace

Result<AttestOptions> parse_attest_options(const std::vector<std::string_view>& args,
                                           const std::set<std::string>& flags, const std::set<std::string>& repeatable,
                                           const std::set<std::string>& required) {
  AttestOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string flag(args[i]);
    if (!flags.contains(flag)) return Error("unknown option " + flag.substr(0, 64));
    if (i + 1 >= args.size()) return Error(flag + " needs a value");
    auto& values = options.values[flag];
    if (!values.empty() && !repeatable.contains(flag)) return Error(flag + " given twice");
    values.emplace_back(args[++i]);
  }
  for (const std::string& flag : required) {
    if (!options.has(flag)) return Error(flag + " is required");
  }
  return options;
}

int run_attest_command(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err) {
  if (args.empty()) {
    std::fputs(kAttestUsage, err);
    return kAttestExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::fputs(kAttestUsage, out);
    return kAttestExitOk;
  }
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (args[0] == "quote") return run_attest_quote(rest, out, err);
  if (args[0] == "verify") return run_attest_verify(rest, out, err);
  if (args[0] == "reference") return run_attest_reference(rest, out, err);
  std::fputs(kAttestUsage, err);
  return kAttestExitUsage;
}

}  // namespace bulwark::attest_cli
