#!/usr/bin/env bash
# Coverage per parser: builds every fuzz target's corpus replayer with clang's source-based
# coverage (build/coverage), replays each target's seed corpus (fuzz/corpus/<target>), and prints,
# per target, the line and branch coverage of the source files that target exists for -- the
# parser's own files, not the whole binary -- with an HTML report per target under
# build/coverage/report/<target>/index.html.
# Usage: scripts/fuzz-coverage.sh [TARGET...]   (all targets by default)
# Goal (fuzz/README.md): every target at or above 80% of its parser's lines.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build/coverage

# The parser files of each target (paths relative to the source tree). A target missing here is
# an error: a new target arrives with its line in this table.
declare -A parser_files=(
  [blk_request]="devices/blk/blk_request.cc"
  [device_control_message]="devices/control/control_message.cc"
  [elf_kernel]="monitor/boot/elf_kernel.cc"
  [bzimage]="monitor/boot/bzimage.cc"
  [boot_plan]="monitor/boot/boot_plan.cc monitor/boot/initrd_placement.cc monitor/boot/zero_page.cc"
  [vm_config_json]="monitor/config/json_config.cc monitor/config/strict_json.cc monitor/config/vm_config.cc"
  [guest_page_walk]="monitor/cpu/guest_page_walk.cc"
  [jail_config]="jailer/jail_config.cc jailer/json_fields.cc jailer/net_config.cc jailer/vsock_config.cc"
  [host_config]="jailer/host_config.cc jailer/tpm_host_config.cc jailer/vsock_host_config.cc"
  [launch_record]="jailer/launch_record.cc"
  [seccomp_audit_record]="jailer/seccomp_audit_record.cc"
  [cmos]="monitor/legacy/cmos_rtc.cc"
  [tpm_crb]="monitor/tpm/crb_device.cc"
  [swtpm_response]="monitor/tpm/swtpm_response.cc"
  [i8042]="monitor/legacy/i8042.cc monitor/legacy/ps2_keyboard.cc"
  [uart]="monitor/legacy/uart16550.cc"
  [pci_config]="monitor/pci/config_space.cc monitor/pci/pci_bus.cc monitor/pci/host_bridge.cc"
  [msix_table]="monitor/pci/msix_table.cc"
  [virtio_pci_common_cfg]="monitor/virtio_pci/common_config.cc"
  [seccomp_policy]="policy/seccomp_policy/policy_text.cc policy/seccomp_policy/policy_condition.cc policy/seccomp_policy/policy_listing.cc"
  [reservation_record]="jailer/ids/reservation_record.cc"
  [label_memory_record]="jailer/svirt/label_record.cc"
  [vhost_user_frontend_message]="devices/vhost_user/header_checks.cc devices/vhost_user/payload_parsers.cc devices/vhost_user/request_parsers.cc devices/vhost_user/memory_table_parser.cc"
  [vhost_user_backend_reply]="devices/vhost_user/header_checks.cc devices/vhost_user/payload_parsers.cc"
  [vhost_user_frontend_session]="monitor/vhost_user/vhost_user_frontend.cc monitor/vhost_user/reply_channel.cc monitor/vhost_user/inflight_region.cc"
  [virtqueue]="devices/virtio/split_queue.cc"
  [net_tx_frame]="devices/net/vnet_header.cc"
  [net_control_command]="devices/net/control_command.cc"
  [net_frame_filter]="devices/net/frame_filter.cc"
  [qcow2_open]="devices/blk/qcow2/qcow2_header.cc devices/blk/qcow2/snapshots.cc devices/blk/qcow2/compressed.cc"
  [qcow2_ops]="devices/blk/qcow2/qcow2_image.cc devices/blk/qcow2/cluster_map.cc devices/blk/qcow2/refcounts.cc devices/blk/qcow2/table_cache.cc"
  [api_http_request]="api/http/http_request_reader.cc"
  [api_command]="api/command/command_codec.cc api/command/reply_codec.cc api/command/wire_record.cc api/command/wire_text.cc"
  [api_route]="api/routes/router.cc api/routes/bodies.cc api/routes/json_body.cc"
  [api_http_response]="jailer/vm_cli/api_response.cc"
  [monitor_control]="monitor/vmm/control_dispatch.cc"
  [log_line]="jailer/log_line.cc jailer/line_splitter.cc"
  [snapshot_state]="snapshot/state_parser.cc snapshot/state_format.cc snapshot/memory_chunks.cc"
  [attestation_event_log]="attestation/event_log_parser.cc attestation/event_log.cc attestation/pcr_replay.cc"
  [attestation_tpm2_response]="attestation/tpm2_response.cc attestation/tpm2_quote_response.cc"
  [attestation_quote]="attestation/tpm2_quote_structures.cc attestation/launch_reference.cc attestation/quote_signature.cc"
  [attestation_report]="attestation/launch_report.cc attestation/report_verify.cc attestation/base64_text.cc attestation/report_signature.cc"
  [vsock_packet]="devices/vsock/packet.cc devices/vsock/connection.cc devices/vsock/connection_table.cc"
  [vsock_connect_line]="devices/vsock/connect_line.cc"
  [inflight_record]="devices/inflight/split_inflight.cc devices/vhost_user/inflight_payload.cc"
)

all_targets=$(sed -n 's/.*bulwark_fuzz_target(\([a-z_0-9]*\)\([ )].*\)*$/\1/p' fuzz/*.cmake | sort -u)
# The legacy devices register through a loop over their names.
all_targets="$all_targets $(sed -n 's/^foreach(device \(.*\))$/\1/p' fuzz/legacy.cmake)"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$(echo $all_targets)"
for t in "${targets[@]}"; do
  [ -n "${parser_files[$t]:-}" ] || { echo "fuzz-coverage: no parser files listed for target $t (add it to this script)" >&2; exit 2; }
done

flags="-fprofile-instr-generate -fcoverage-mapping -O0 -g"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_${t}_replay"); done
cmake --build "$build" --target "${build_targets[@]}" >/dev/null

profiles=$build/profiles
rm -rf "$profiles" "$build/report"
mkdir -p "$profiles" "$build/report"
printf '%-30s %8s %8s %10s %10s\n' target seeds lines% branches% "lines(hit/all)"
below=0
for t in "${targets[@]}"; do
  binary=$(find "$build" -name "fuzz_${t}_replay" -type f -perm -u+x | head -n 1)
  raw=$profiles/$t.profraw data=$profiles/$t.profdata
  LLVM_PROFILE_FILE=$raw "$binary" "fuzz/corpus/$t" >/dev/null 2>&1 || true
  llvm-profdata-14 merge -sparse "$raw" -o "$data"
  sources=()
  for f in ${parser_files[$t]}; do sources+=("$root/$f"); done
  # The TOTAL line of `llvm-cov report`: regions, missed, %, functions, missed, %, lines,
  # missed, %, branches, missed, %.
  total=$(llvm-cov-14 report "$binary" -instr-profile="$data" "${sources[@]}" | awk '/^TOTAL/ {print}')
  read -r _ _ _ _ _ _ _ lines lmiss lpct branches bmiss bpct <<<"$total"
  llvm-cov-14 show "$binary" -instr-profile="$data" -format=html -output-dir="$build/report/$t" \
    "${sources[@]}" >/dev/null
  seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%-30s %8s %8s %10s %10s\n' "$t" "$seeds" "$lpct" "$bpct" "$((lines - lmiss))/$lines"
  pct=${lpct%\%}
  if awk -v p="$pct" 'BEGIN { exit !(p < 80) }'; then below=$((below + 1)); fi
done
echo "HTML: $build/report/<target>/index.html; targets below 80% of their parser's lines: $below"
