// A launch report and keys for the report's unit tests and the fuzz target's seeds: the event
// log of a small launch (kernel, command line, VM config, a policy, a profile, SELinux contexts,
// a binary) and a fresh P-384 key pair.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attestation/event_log_writer.h"
#include "attestation/launch_events.h"

namespace bulwark::attestation::testing {

inline std::span<const uint8_t> report_text_span(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

struct SampleLaunch {
  std::vector<uint8_t> log;
  std::map<std::string, std::string> texts;
};

// `context`: the SELinux context both processes' items carry ("off" or one with a pair).
inline SampleLaunch sample_launch(const std::string& context = "off", const std::string& second_context = "") {
  SampleLaunch launch;
  EventLogWriter writer;
  const std::string vm_config = R"({"cmdline":"console=ttyS0","kernel":"/kernel","memory_mib":64})";
  const std::string profile = "bulwark-jail-profile 1\nrlimit.nofile 64\n";
  launch.texts = {{"vm-config", vm_config},
                  {"jail profile dev-rng", profile},
                  {"selinux monitor", context},
                  {"selinux dev-rng", second_context.empty() ? context : second_context}};
  (void)measure_kernel(writer, report_text_span("kernel bytes"));
  (void)measure_command_line(writer, "console=ttyS0");
  (void)measure_vm_config(writer, vm_config);
  (void)measure_isolation_item(writer, "seccomp dev-rng", report_text_span("policy text"));
  for (const char* name : {"jail profile dev-rng", "selinux monitor", "selinux dev-rng"}) {
    (void)measure_isolation_item(writer, name, report_text_span(launch.texts.at(name)));
  }
  (void)measure_isolation_item(writer, "binary monitor", report_text_span("\x7f" "ELF monitor"));
  launch.log = writer.bytes();
  return launch;
}

struct PemKeys {
  std::string private_pem, public_pem;
};

// A fresh EC key pair on `curve` ("P-384", "P-256"), as PEM.
inline PemKeys fresh_ec_keys(const char* curve = "P-384") {
  PemKeys keys;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen(curve), &EVP_PKEY_free);
  if (!key) return keys;
  for (bool is_private : {true, false}) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    const int written = is_private ? PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
                                   : PEM_write_bio_PUBKEY(bio.get(), key.get());
    if (written != 1) return {};
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    (is_private ? keys.private_pem : keys.public_pem).assign(data, static_cast<size_t>(length));
  }
  return keys;
}

}  // namespace bulwark::attestation::testing
