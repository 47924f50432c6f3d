#!/bin/bash
# Mutation check of Bulwark's security checks (issue 11): each mutant weakens ONE check (a
# boundary moved, a check removed, a wrong operator) in a scratch copy of the tree, rebuilds
# only the targets whose tests cover it, runs only those tests, and records whether a test
# noticed ("killed") or not ("survived"). A build failure counts as killed, marked "(build)".
# Every mutant should be killed; a new security check arrives with its mutant in the list below.
#
# Not part of CI: minutes per mutant. Run it niced on a shared machine:
#   nice -n 10 scripts/mutants.sh                 # every mutant
#   nice -n 10 scripts/mutants.sh blk- sq-head    # mutants whose id starts with one of these
#   scripts/mutants.sh --list                     # ids and what each weakens
# Options: --scratch DIR (default /tmp/bulwark-mutants; the copy and its build dir live there,
# kept between runs so a rerun rebuilds only what changed), --timeout SECONDS for one mutant's
# tests together (default 240: tests that hang on a mutant are cut off; "killed (timeout)").
#
# Mutant format (one per entry, fields separated by " :: "):
#   id :: file :: original text (must occur exactly once) :: replacement :: build targets :: CTest regex
# In the texts, \n stands for a newline; a replacement of <delete> removes the text. A mutant
# must still compile under -Werror (e.g. "if (x && false)", not "if (false)" when x is then
# unused): one that does not tests nothing and shows as "killed (build)".
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
SCRATCH=/tmp/bulwark-mutants
TIMEOUT=240
LIST=0
SELECT=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scratch) SCRATCH="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) SELECT+=("$1"); shift ;;
  esac
done

# Left out on purpose: pci_cfg_write's range_within(offset, length, kBarSize) made true is an
# equivalent mutant: region_write() bounds every access to its structure again, so no access
# through pci_cfg behaves differently (the outer check saves a lookup, not memory).
# ---- the mutants ------------------------------------------------------------------------------
VQ="bulwark_virtqueue_tests"; VQ_RE='^SplitQueue\.'
BLK="bulwark_blk_tests"; BLK_RE='^(BlkRequest|BlockDeviceTest|BlkDeviceProcess)'
RNG="bulwark_rng_tests"; RNG_RE='^RngDeviceProcess'
VU="bulwark_vhost_user_codec_tests"; VU_RE='^(CodecTest|ChannelTest)'
PCI="pci_test virtio_pci_test"; PCI_RE='^(PciBus|MsixTable|VirtioPciDevice|CommonConfig)\.'
JC="bulwark_jail_config_tests"; JC_RE='^(HostConfigTest|JailConfigTest|JailConfigDevicesTest|LaunchRecordTest|VmIdTest)\.'
JS="bulwark_jail_spec_tests"; JS_RE='^(JailSpecTest|SweepTest)\.'
VF="bulwark_vm_file_tests"; VF_RE='^(VmFileOpenerTest|ImageLockTest)\.'
POL="seccomp_policy_test"; POL_RE='^(PolicyCompiler|PolicyLoader|PolicyRecording|SeccompEnforcement)\.'
NET="bulwark_net_parser_tests"; NET_RE='^(ControlCommandTest|FrameFilterTest|VnetHeaderTest)'
SV="svirt_test"; SV_RE='^(LabelMemory|LabelRecord|VmSvirt|FileLabels)'
SW="bulwark_jail_spec_tests"; SW_RE='^LabelSweepTest\.'
PTX="seccomp_policy_text_test"; PTX_RE='(PolicyCondition|PolicyText|NamedConstants)'
NC="bulwark_jail_config_tests"; NC_RE='^(NetConfigTest|LaunchRecordTest)\.'
TAP="bulwark_jail_spec_tests"; TAP_RE='^(TapDeviceTest|SweepTest)\.'
VAPI="bulwark_vm_api_tests"; VAPI_RE='^(ApiOperatorDirs|PendingVmTest|VmApiTest)\.'
ATT_RE='^(EventLog|PcrReplay|Tpm2Eventlog)'
VS="bulwark_vsock_proto_tests"; VS_RE='^Vsock'
SNAP="bulwark_snapshot_tests"; SNAP_RE='^(Snapshot|StateKey|MemoryChunks|State)'

read -r -d '' MUTANTS <<EOF || true
sq-head :: devices/virtio/split_queue.cc :: if (head >= layout_.size) {\n    return Error("chain head :: if (head > layout_.size) {\n    return Error("chain head :: $VQ :: $VQ_RE
sq-pending :: devices/virtio/split_queue.cc :: if (pending > layout_.size) { :: if (pending > layout_.size + 1) { :: $VQ :: $VQ_RE
sq-link :: devices/virtio/split_queue.cc :: if (d.next >= table_entries) { :: if (d.next > table_entries) { :: $VQ :: $VQ_RE
sq-indirect-cap :: devices/virtio/split_queue.cc :: if (d.len / kDescSize > kMaxQueueSize) { :: if (d.len / kDescSize > kMaxQueueSize + 1) { :: $VQ :: $VQ_RE
sq-nested-indirect :: devices/virtio/split_queue.cc :: if (in_indirect) return Error( :: if (in_indirect && false) return Error( :: $VQ :: $VQ_RE
sq-readable-after-writable :: devices/virtio/split_queue.cc :: if (seen_writable) return Error( :: if (seen_writable && false) return Error( :: $VQ :: $VQ_RE
sq-used-head :: devices/virtio/split_queue.cc :: if (head >= layout_.size) return Error("used element :: if (head > layout_.size) return Error("used element :: $VQ :: $VQ_RE
sq-ring-outside :: devices/virtio/split_queue.cc :: if (!desc || !avail || !used) return :: if (!desc || !avail) return :: $VQ :: $VQ_RE
blk-sector-overflow :: devices/blk/block_device.cc :: if (sector > UINT64_MAX / kSectorSize) return false; :: <delete> :: $BLK :: $BLK_RE
blk-range :: devices/blk/block_device.cc :: return range_within(offset, bytes, image_bytes_); :: return range_within(offset, bytes / 2, image_bytes_); :: $BLK :: $BLK_RE
blk-read-only-write :: devices/blk/block_device.cc :: return options_.read_only ? kStatusIoErr : write(request); :: return write(request); :: $BLK :: $BLK_RE
blk-read-only-discard :: devices/blk/block_device.cc :: return options_.read_only ? kStatusIoErr : discard(request); :: return discard(request); :: $BLK :: $BLK_RE
blk-read-only-zeroes :: devices/blk/block_device.cc :: return options_.read_only ? kStatusIoErr : write_zeroes(request); :: return write_zeroes(request); :: $BLK :: $BLK_RE
blk-zeroes-cap :: devices/blk/block_device.cc :: if ((segment.flags & ~kSegmentFlagUnmap) != 0) return kStatusUnsupported;\n    if (segment.num_sectors > kMaxDiscardSectors) return kStatusIoErr; :: if ((segment.flags & ~kSegmentFlagUnmap) != 0) return kStatusUnsupported; :: $BLK :: $BLK_RE
blk-discard-cap :: devices/blk/block_device.cc :: WRITE_ZEROES only\n    if (segment.num_sectors > kMaxDiscardSectors) return kStatusIoErr; :: WRITE_ZEROES only :: $BLK :: $BLK_RE
blk-segment-count :: devices/blk/blk_request.cc :: bytes / kSegmentSize > kMaxSegments) { :: bytes / kSegmentSize > kMaxSegments + 1) { :: $BLK :: $BLK_RE
blk-whole-sectors :: devices/blk/blk_request.cc :: request.data_bytes % kSectorSize != 0) { :: request.data_bytes % 1 != 0) { :: $BLK :: $BLK_RE
rng-request-cap :: devices/rng/rng_device.cc :: kMaxBytesPerRequest - written); :: kMaxBytesPerRequest); :: $RNG :: $RNG_RE
vu-version :: devices/vhost_user/header_checks.cc :: if ((message.flags & kVersionMask) != kVersion1) { :: if (false) { :: $VU :: $VU_RE
vu-header-flags :: devices/vhost_user/header_checks.cc :: if ((message.flags & ~(kVersionMask | kReplyFlag | kNeedReplyFlag)) != 0) { :: if (false) { :: $VU :: $VU_RE
vu-region-count :: devices/vhost_user/memory_table_parser.cc :: count > kMaxMemoryRegions) { :: count > kMaxMemoryRegions + 1) { :: $VU :: $VU_RE
vu-region-wrap :: devices/vhost_user/memory_table_parser.cc :: if (!checked_add(region.guest_phys_addr, region.memory_size) ||\n        :: if ( :: $VU :: $VU_RE
vu-config-range :: devices/vhost_user/payload_parsers.cc :: if (!range_within(config.offset, config.size, kMaxConfigSize)) { :: if (config.offset > kMaxConfigSize) { :: $VU :: $VU_RE
vu-vring-bits :: devices/vhost_user/request_parsers.cc :: if ((value & ~(kVringIndexMask | kVringNoFdFlag)) != 0) { :: if (false) { :: $VU :: $VU_RE
vu-payload-cap :: devices/vhost_user/channel.cc :: if (size > kMaxPayload) { :: if (size > kMaxPayload + 1) { :: $VU :: $VU_RE
cc-queue-select :: monitor/virtio_pci/common_config.cc :: return queue_select_ < queues_.size() ? :: return queue_select_ <= queues_.size() ? :: $PCI :: $PCI_RE
cc-queue-select-read :: monitor/virtio_pci/common_config.cc :: if (queue_select_ < queues_.size()) { :: if (queue_select_ <= queues_.size()) { :: $PCI :: $PCI_RE
cc-features-fixed :: monitor/virtio_pci/common_config.cc :: if (driver_feature_select_ >= 2 || (status_ & (kStatusFeaturesOk | kStatusDriverOk))) { :: if (driver_feature_select_ >= 2) { :: $PCI :: $PCI_RE
cc-layout-fixed :: monitor/virtio_pci/common_config.cc :: if (q->enabled || (status_ & kStatusDriverOk)) { :: if (q->enabled) { :: $PCI :: $PCI_RE
cc-queue-size-max :: monitor/virtio_pci/common_config.cc :: if (is_power_of_two(requested) && requested <= max_queue_size_) { :: if (is_power_of_two(requested)) { :: $PCI :: $PCI_RE
cc-vector :: monitor/virtio_pci/common_config.cc :: return vector < msix_vectors_ ? vector : kNoVector; :: return vector <= msix_vectors_ ? vector : kNoVector; :: $PCI :: $PCI_RE
vpd-pcicfg-length :: monitor/virtio_pci/virtio_pci_device.cc :: (length == 1 || length == 2 || length == 4) && length <= data.size() && :: (length == 1 || length == 2 || length == 4) && :: $PCI :: $PCI_RE
msix-table-range :: monitor/pci/msix_table.cc :: offset % size != 0 || !range_within(offset, size, table_bytes())) { :: offset % size != 0) { :: $PCI :: $PCI_RE
msix-trigger-vector :: monitor/pci/msix_table.cc :: MsixTable::trigger(uint16_t vector) {\n  if (vector >= entries_.size()) :: MsixTable::trigger(uint16_t vector) {\n  if (vector > entries_.size()) :: $PCI :: $PCI_RE
pci-data-dword :: monitor/pci/pci_bus.cc :: if (data_offset + size > 4) return std::nullopt; :: if (data_offset + size > 8) return std::nullopt; :: $PCI :: $PCI_RE
pci-function :: monitor/pci/pci_bus.cc :: if (bus != 0 || function != 0 || :: if (bus != 0 || (function != 0 && false) || :: $PCI :: $PCI_RE
jc-uid-max :: jailer/jail_config.cc :: if (!allocate && (jail.uid < 1 || jail.uid > kMaxVmUid)) { :: if (!allocate && (jail.uid < 1)) { :: $JC :: $JC_RE
jc-pids-max :: jailer/jail_config.cc :: if (jail.pids_max < 1 || jail.pids_max > kMaxPidsMax) :: if (jail.pids_max < 1) :: $JC :: $JC_RE
jc-seccomp-enforce :: jailer/jail_config.cc :: if (config.vm.seccomp != config::SeccompMode::kEnforce) { :: if (false) { :: $JC :: $JC_RE
jc-disks-max :: jailer/jail_config.cc :: if (config.disks.size() > kMaxDisks) :: if (config.disks.size() > kMaxDisks + 1) :: $JC :: $JC_RE
jc-base-dir-components :: jailer/jail_config.cc :: if (!is_plain_component(dir.substr(start, end - start))) { :: if (false) { :: $JC :: $JC_RE
jc-id-with-devices :: jailer/jail_config.cc :: jail.id.size() > kMaxVmIdWithDevices) { :: jail.id.size() > kMaxVmIdWithDevices + 1) { :: $JC :: $JC_RE
hc-absolute-path :: jailer/host_config.cc :: if (path.front() != '/' || path.size() > config::kMaxPathBytes || :: if (path.size() > config::kMaxPathBytes || :: $JC :: $JC_RE
hc-mcs-two :: jailer/host_config.cc :: if (first == last) return Error(path + ": needs at least two categories"); :: <delete> :: $JC :: $JC_RE
hc-blk-poll-us-max :: jailer/host_config.cc :: status = read_json_integer(member, 0, kMaxBlkPollUs, &host.blk_poll_us); :: status = read_json_integer(member, 0, kMaxBlkPollUs + 1, &host.blk_poll_us); :: $JC :: $JC_RE
jc-blk-poll-us-operator :: jailer/jail_config.cc :: "blk_poll_us", :: "blk_poll_us_unlisted", :: $JC :: $JC_RE
lr-uid-max :: jailer/launch_record.cc :: if (value > 2147483646) return false; :: if (value > 4294967295) return false; :: $JC :: $JC_RE
lr-dotdot :: jailer/launch_record.cc :: if (part.empty() || part == "." || part == "..") return false; :: if (part.empty() || part == ".") return false; :: $JC :: $JC_RE
lr-keys :: jailer/launch_record.cc :: if (key != "jail" && key != "cgroup") { :: if (false) { :: $JC :: $JC_RE
sweep-dir-owner :: jailer/stale_vm.cc :: if (st.st_uid != 0) return "not owned by root"; :: <delete> :: $JS :: $JS_RE
sweep-root-owner :: jailer/stale_vm.cc :: if (root.st_uid != uid) { :: if (false) { :: $JS :: $JS_RE
sweep-places :: jailer/stale_vm.cc :: if (!contains(places.jail_dirs, jail)) { :: if (false) { :: $JS :: $JS_RE
jail-no-new-privs :: jailer/jail_child.cc :: check(::prctl(PR_SET_NO_NEW_PRIVS, kJailNoNewPrivs, 0, 0, 0) == 0, "no-new-privs",\n        "PR_SET_NO_NEW_PRIVS"); :: <delete> :: $JS :: $JS_RE
vuf-file-type :: jailer/vm_user_files.cc :: return S_ISREG(mode) || (allow_block_device && S_ISBLK(mode)); :: return S_ISREG(mode) || ((allow_block_device || true) && S_ISBLK(mode)); :: $VF :: $VF_RE
image-lock-conflict :: jailer/image_lock.cc :: if (!conflict->empty()) { :: if (false) { :: $VF :: $VF_RE
pc-arg-index :: policy/seccomp_policy/policy_compiler.cc :: if (comparison.arg > 5) { :: if (comparison.arg > 6) { :: $POL :: $POL_RE
pc-mask-bits :: policy/seccomp_policy/policy_compiler.cc :: comparison.op == CompareOp::kMaskedEq && (comparison.value & ~comparison.mask) != 0) { :: false) { :: $POL :: $POL_RE
pc-max-insns :: policy/seccomp_policy/policy_compiler.cc :: if (instructions > BPF_MAXINSNS) { :: if (false) { :: $POL :: $POL_RE
pl-regular-file :: policy/seccomp_policy/policy_loader.cc :: if (!S_ISREG(info.st_mode)) return Error("not a regular file"); :: <delete> :: $POL :: $POL_RE
pcond-hex-overflow :: policy/seccomp_policy/policy_condition.cc :: if (value > (std::numeric_limits<uint64_t>::max() >> 4)) { :: if (false) { :: $PTX :: $PTX_RE
lm-shared-only :: jailer/svirt/label_memory.cc :: if (!all_shared) { :: if (!all_shared && false) { :: $SV :: $SV_RE
lm-shared-label :: jailer/svirt/label_memory.cc :: if (record.label != context) { :: if (record.label != context && false) { :: $SV :: $SV_RE
lm-lock-exclusive :: jailer/svirt/label_memory.cc :: while (::flock(fd.get(), LOCK_EX) != 0) { :: while (::flock(fd.get(), LOCK_SH) != 0) { :: $SV :: $SV_RE
lm-last-user :: jailer/svirt/label_memory.cc :: if (record->users.empty()) { :: if (record->users.empty() || true) { :: $SV :: $SV_RE
lm-below-separator :: jailer/svirt/label_memory.cc :: resolved[dir.size()] == '/'; :: (resolved[dir.size()] == '/' || true); :: $SV :: $SV_RE
lrec-duplicate-user :: jailer/svirt/label_record.cc :: if (users[j].vm_id == users[i].vm_id) return Error( :: if (users[j].vm_id == users[i].vm_id && false) return Error( :: $SV :: $SV_RE
net-source-mac :: devices/net/frame_filter.cc :: if (!mac_equals(*eth.sub(6, 6), policy.mac)) return DropReason::kSourceMac; :: if (false) return DropReason::kSourceMac; :: $NET :: $NET_RE
net-arp-sender-mac :: devices/net/frame_filter.cc :: if (!mac_equals(*arp.sub(8, 6), policy.mac)) return DropReason::kArpSpoof; :: if (false) return DropReason::kArpSpoof; :: $NET :: $NET_RE
net-ipv4-source :: devices/net/frame_filter.cc :: if (!all_zero(src)) return DropReason::kIpv4Source; :: if (false) return DropReason::kIpv4Source; :: $NET :: $NET_RE
net-csum-end :: devices/net/vnet_header.cc :: if (end > frame_len) :: if (end > frame_len + 1) :: $NET :: $NET_RE
net-hdr-len :: devices/net/vnet_header.cc :: if (h.hdr_len > frame_len) :: if (h.hdr_len > frame_len + 1) :: $NET :: $NET_RE
net-mac-table-bytes :: devices/net/control_command.cc :: if (size_t{entries} * 6 > r.left()) :: if (size_t{entries} * 6 > r.left() + 6) :: $NET :: $NET_RE
net-pairs-max :: devices/net/control_command.cc :: if (pairs < 1 || pairs > max_queue_pairs) :: if (pairs < 1 || pairs > max_queue_pairs + 1) :: $NET :: $NET_RE
nc-max-nets :: jailer/net_config.cc :: if (config.nets.size() > host.max_nets) { :: if (config.nets.size() > host.max_nets + 1) { :: $NC :: $NC_RE
nc-rate-ceiling :: jailer/net_config.cc :: if (rate > ceiling) { :: if (rate > ceiling + 1) { :: $NC :: $NC_RE
nc-burst-ceiling :: jailer/net_config.cc :: if (bucket.one_time_burst > ceiling) { :: if (bucket.one_time_burst > ceiling + 1) { :: $NC :: $NC_RE
nc-no-limit-gets-ceiling :: jailer/net_config.cc :: bucket = RateBucket{ceiling, 1000, 0}; :: bucket = RateBucket{}; :: $NC :: $NC_RE
nc-operator-field :: jailer/net_config.cc :: } else if (key == "allowed_ips" || key == "tap" :: } else if (key == "allowed_ips-" || key == "tap" :: $NC :: $NC_RE
nc-mac-multicast :: jailer/net_config.cc :: if (mac->is_multicast()) return Error( :: if (false && mac->is_multicast()) return Error( :: $NC :: $NC_RE
nc-mtu-ceiling :: jailer/net_config.cc :: if (net.mtu > host.max_mtu) { :: if (net.mtu > host.max_mtu + 1) { :: $NC :: $NC_RE
lr-tap-index :: jailer/launch_record.cc :: || ifindex < 1 || ifindex > 0x7fffffff) return false; :: || ifindex > 0x7fffffff) return false; :: $NC :: $NC_RE
tap-excl :: jailer/net/tap_device.cc :: (create ? IFF_TUN_EXCL : 0) :: (create ? 0 : 0) :: $TAP :: $TAP_RE
tap-remove-index :: jailer/net/tap_device.cc :: if (*index != ifindex) return false; :: <delete> :: $TAP :: $TAP_RE
tap-sweep-netns :: jailer/stale_vm.cc :: bool ours = !places.tap_prefix.empty() && tap.netns == places.tap_netns; :: bool ours = !places.tap_prefix.empty(); :: $TAP :: $TAP_RE
blk-rate-limit :: devices/blk/block_device.cc :: if (!limiter_->consume(bytes, 1, now)) { :: if (false && !limiter_->consume(bytes, 1, now)) { :: $BLK :: $BLK_RE
blk-rate-bytes :: devices/blk/block_device.cc :: const uint64_t bytes = data ? request->data_bytes : 0; :: const uint64_t bytes = data ? 0 : 0; :: $BLK :: $BLK_RE
vuf-net-max-pairs :: monitor/vhost_user/vhost_user_frontend.cc :: if (announced > kVirtioNetMaxQueuePairs) { :: if (announced > kVirtioNetMaxQueuePairs + 2) { :: bulwark_net_device_tests :: ^NetMonitorFrontend
vuf-net-queue-count :: monitor/vhost_user/vhost_user_frontend.cc :: && queues > backend_queues_) { :: && queues > backend_queues_ + 4) { :: bulwark_net_device_tests :: ^NetMonitorFrontend
api-dir-dotdot :: jailer/api/api_host_config.cc :: if (part.empty() || part == "." || part == "..") return true; :: if (part.empty() || part == ".") return true; :: $VAPI :: $VAPI_RE
api-dir-prefix :: jailer/api/api_host_config.cc :: name.starts_with(dir) && name[dir.size()] == '/' :: name.starts_with(dir) :: $VAPI :: $VAPI_RE
api-preboot-check :: jailer/api/pending_vm.cc :: if (Status s = check_with(trial); !s.ok()) return fault(s.error().message()); :: <delete> :: $VAPI :: $VAPI_RE
api-preboot-after-start :: jailer/api/vm_api.cc :: if (state_ != VmApiState::kNotStarted) { :: if (false) { :: $VAPI :: $VAPI_RE
api-http-body-limit :: api/http/http_request_reader.cc :: p->content_length > s.limits.max_body_bytes) :: p->content_length > s.limits.max_body_bytes + 4096) :: api_http_test :: HttpRequestReader
api-wire-text-length :: api/command/wire_text.cc :: if (text.size() > rule.max_bytes) :: if (text.size() > rule.max_bytes + 1) :: api_command_test :: ^(ApiCommandRefusal|ApiCommandRoundTrip|ApiReply)
snap-mac-check :: snapshot/state_parser.cc :: if (!macs_equal(*mac, file.subspan(body))) :: if (false && !macs_equal(*mac, file.subspan(body))) :: $SNAP :: $SNAP_RE
snap-key-vm :: snapshot/state_parser.cc :: if (key.vm_id() != expect.vm_id)\n    return Error("snapshot state: the key is VM " :: if (false)\n    return Error("snapshot state: the key is VM " :: $SNAP :: $SNAP_RE
snap-section-length :: snapshot/state_parser.cc :: if (!range_within(at, length, body.size())) :: if (!range_within(at, length / 2, body.size())) :: $SNAP :: $SNAP_RE
snap-trailing :: snapshot/state_parser.cc :: if (at != body.size()) return Error( :: if (false) return Error( :: $SNAP :: $SNAP_RE
snap-chunk-mac :: snapshot/memory_chunks.cc :: if (!macs_equal(*mac, table_.macs[index])) :: if (false && !macs_equal(*mac, table_.macs[index])) :: $SNAP :: $SNAP_RE
att-range :: attestation/event_log_parser.cc :: if (!range_within(offset_, length, bytes_.size())) return past_end(field, length); :: if (!range_within(offset_, length / 2, bytes_.size())) return past_end(field, length); :: bulwark_attestation_tests :: $ATT_RE
att-digest-count :: attestation/event_log_parser.cc :: if (count != banks.size())\n    return Error("digest count :: if (count > banks.size())\n    return Error("digest count :: bulwark_attestation_tests :: $ATT_RE
att-event-size :: attestation/event_log_parser.cc :: if (size > kMaxEventDataBytes)\n    return Error("event size :: if (false)\n    return Error("event size :: bulwark_attestation_tests :: $ATT_RE
att-trailing :: attestation/event_log_parser.cc :: if (log.left() < kMinEventBytes)\n      return Error( :: if (false)\n      return Error( :: bulwark_attestation_tests :: $ATT_RE
vsock-len-present :: devices/vsock/packet.cc :: if (h.len != present) :: if (h.len > present) :: $VS :: $VS_RE
vsock-src-cid :: devices/vsock/packet.cc :: if (h.src_cid != guest_cid) :: if (false && h.src_cid != guest_cid) :: $VS :: $VS_RE
vsock-credit-overrun :: devices/vsock/connection.cc :: if (h.len > room) return fail( :: if (h.len > room + 1) return fail( :: $VS :: $VS_RE
vsock-guest-cap :: devices/vsock/connection_table.cc :: if (connections_.size() >= limits_.max_connections) {\n        ++counters_.cap_refusals;\n        queue_rst_for(h); :: if (connections_.size() > limits_.max_connections) {\n        ++counters_.cap_refusals;\n        queue_rst_for(h); :: $VS :: $VS_RE
inflight-flag :: devices/inflight/split_inflight.cc :: if (flag > 1) { :: if (flag > 2) { :: bulwark_inflight_tests :: SplitInflight
inflight-last-head :: devices/inflight/split_inflight.cc :: if (last >= queue_size_) { :: if (last > queue_size_) { :: bulwark_inflight_tests :: SplitInflight
inflight-queue-size :: devices/vhost_user/inflight_payload.cc :: (size & (size - 1)) != 0) { :: false) { :: bulwark_inflight_tests :: InflightPayload
inflight-resume-point :: devices/backend/inflight_requests.cc :: queue.set_next_avail(recovery->last_avail_idx); :: <delete> :: bulwark_backend_ring_tests :: InflightResubmit
inflight-taken-noted :: devices/virtio/split_queue.cc :: if (in_flight_ != nullptr) in_flight_->taken(head);\n  ++next_avail_; :: ++next_avail_; :: bulwark_backend_ring_tests :: InflightResubmit
giveback-rewind :: devices/virtio/split_queue.cc :: --next_avail_;\n  // avail_event :: // avail_event :: bulwark_virtqueue_tests bulwark_backend_ring_tests :: SplitQueue|UnusedBuffer
giveback-record :: devices/virtio/split_queue.cc :: if (in_flight_ != nullptr) in_flight_->given_back(head); :: <delete> :: bulwark_virtqueue_tests :: SplitQueue
giveback-called :: devices/backend/ring_runner.cc :: device_.queue_stopping(index, *vring.queue); :: <delete> :: bulwark_backend_ring_tests :: UnusedBuffer
crb-access-length :: monitor/tpm/crb_device.cc :: return offset < kCrbSize && len <= kCrbSize - offset; :: return offset < kCrbSize; :: tpm_crb_test :: ^CrbDevice
crb-command-size :: monitor/tpm/crb_device.cc :: if (size < kTpmHeaderSize || size > kDataBufferSize) { :: if (size < kTpmHeaderSize) { :: tpm_crb_test :: ^CrbDevice
swtpm-response-size :: monitor/tpm/swtpm_response.cc :: if (check.header.size > max_size) { :: if (false) { :: tpm_crb_test :: ^(SwtpmResponse|SwtpmLink)
frontend-no-launcher :: monitor/vhost_user/vhost_user_frontend.cc :: if (!options_.replacement_possible || (protocol_features_ :: if ((protocol_features_ :: frontend_reconnect_test :: ^FrontendReconnect
device-inflight-fsize :: jailer/device_spec.cc :: spec.rlimits.fsize = std::max(spec.rlimits.fsize, kInflightRecordBytesMax); :: (void)kInflightRecordBytesMax; :: bulwark_disk_format_tests :: ^DiskFormatConfig
vsock-reset-once-per-process :: devices/backend/inflight_requests.cc :: if (first_attach && !predecessor_reported_) { :: if ((first_attach || true) && !predecessor_reported_) { :: bulwark_vsock_reset_tests :: VsockTransportReset
vsock-reset-predecessor :: devices/backend/inflight_requests.cc :: predecessor_reported_ = true;\n    device_.predecessor_served(); :: predecessor_reported_ = true; :: bulwark_vsock_reset_tests :: VsockTransportReset
devctl-bucket-size :: devices/control/control_message.cc :: if (b.size > kMaxBucketSize) return Error( :: if (b.size > kMaxBucketSize * 4) return Error( :: $BLK :: ^BlkControlChannel
devctl-version :: devices/control/control_message.cc :: if (version != kVersion) return Error( :: if (false) return Error( :: $BLK :: ^BlkControlChannel
devctl-op-body :: devices/control/control_message.cc :: if (!body_zero(bytes)) return Error(std::string("control message: ") :: if (false && !body_zero(bytes)) return Error(std::string("control message: ") :: bulwark_device_control_tests :: ^DeviceControlMessage\.
devctl-op-range :: devices/control/control_message.cc :: code <= static_cast<uint16_t>(Op::kGetStats); :: code <= static_cast<uint16_t>(Op::kGetStats) + 1; :: bulwark_device_control_tests :: ^DeviceControlMessage\.
devctl-reply-body :: devices/control/control_message.cc :: if (!body_zero(bytes)) return Error("control reply: :: if (false && !body_zero(bytes)) return Error("control reply: :: bulwark_device_control_tests :: ^DeviceControlMessage\.
devctl-pause-serves :: devices/backend/backend_server.cc :: if (paused_) return false;\n :: <delete> :: $BLK :: ^BlkControlChannel
devctl-pause-launcher :: jailer/api/vm_api.cc :: if (set.paused) pause_devices(true); :: (void)0; :: $VAPI :: ^VmApiDevicePause\.
api-dirs-dot-slash :: jailer/api/api_host_config.cc :: name.starts_with("./") && name[2] != '/') :: name.starts_with("./")) :: $VAPI :: $VAPI_RE
devctl-net-ceiling :: jailer/api/rate_limit_patch.cc :: BULWARK_TRY(apply_net_rate_ceilings(host, path, trial)); :: (void)host; :: $VAPI :: ^VmApiRateLimits
sweep-label-inode :: jailer/stale_vm.cc :: if (static_cast<uint64_t>(st.st_dev) != label.dev || static_cast<uint64_t>(st.st_ino) != label.ino) { :: if (false) { :: $SW :: $SW_RE
EOF

# ---- driver -----------------------------------------------------------------------------------
export SOURCE SCRATCH TIMEOUT LIST MUTANTS
exec python3 - "${SELECT[@]}" <<'PY'
import os, shutil, signal, subprocess, sys, time

source, scratch = os.environ["SOURCE"], os.environ["SCRATCH"]
timeout = int(os.environ["TIMEOUT"])
select = sys.argv[1:]
mutants = []
for line in os.environ["MUTANTS"].splitlines():
    if not line.strip():
        continue
    parts = [p.strip() for p in line.split(" :: ")]
    if len(parts) != 6:
        sys.exit(f"mutant entry with {len(parts)} fields, expected 6: {line[:80]}")
    mid, path, orig, repl, targets, regex = parts
    mutants.append(dict(id=mid, file=path, orig=orig.replace("\\n", "\n"), repl="" if repl == "<delete>" else repl.replace("\\n", "\n"),
                        targets=targets.split(), regex=regex))
ids = [m["id"] for m in mutants]
if len(set(ids)) != len(ids):
    sys.exit("duplicate mutant ids")
if select:
    mutants = [m for m in mutants if any(m["id"].startswith(s) for s in select)]
if os.environ["LIST"] == "1":
    for m in mutants:
        print(f"{m['id']:28} {m['file']}: {m['orig'].splitlines()[0].strip()[:70]}")
    sys.exit(0)
if not mutants:
    sys.exit("no mutant selected")

src, build = os.path.join(scratch, "src"), os.path.join(scratch, "build")
log_dir = os.path.join(scratch, "logs")
os.makedirs(src, exist_ok=True)
os.makedirs(log_dir, exist_ok=True)

def run(cmd, log, limit=None, cwd=None):
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        # Its own process group, so a hung test under ctest goes with it on the timeout.
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        try:
            return child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            out.write(f"*** cut off after {limit} s\n")
            return "timeout"

# Copy the working tree (with its uncommitted changes; no build dirs, no .git), writing only
# files whose bytes differ, with a fresh mtime: a rerun rebuilds exactly what changed (keeping
# the source's mtime would not: an edit older than the copy's last build would go unbuilt).
print(f"copying {source} to {src}", flush=True)
copied = 0
for root, dirs, files in os.walk(source):
    rel = os.path.relpath(root, source)
    if rel == ".":
        dirs[:] = [d for d in dirs if d not in ("build", ".git")]
    os.makedirs(os.path.join(src, rel), exist_ok=True)
    for name in files:
        here, there = os.path.join(root, name), os.path.join(src, rel, name)
        if os.path.islink(here):
            if not os.path.lexists(there):
                os.symlink(os.readlink(here), there)
            continue
        data = open(here, "rb").read()
        if os.path.exists(there) and open(there, "rb").read() == data:
            continue
        with open(there, "wb") as f:
            f.write(data)
        shutil.copymode(here, there)
        copied += 1
print(f"{copied} files new or changed", flush=True)
# Every mutant must still apply to the copy before anything is built.
for m in mutants:
    text = open(os.path.join(src, m["file"])).read()
    n = text.count(m["orig"])
    if n != 1:
        sys.exit(f"{m['id']}: the original text occurs {n} times in {m['file']}, expected once")

setup_log = os.path.join(log_dir, "setup.log")
if not os.path.exists(os.path.join(build, "build.ninja")):
    print("configuring", build, flush=True)
    if run(["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DCMAKE_C_COMPILER=gcc", "-DCMAKE_CXX_COMPILER=g++"], setup_log) != 0:
        sys.exit(f"configure failed, see {setup_log}")
jobs = str(os.cpu_count() or 1)
all_targets = sorted({t for m in mutants for t in m["targets"]})
print("building the unmutated targets:", " ".join(all_targets), flush=True)
if run(["cmake", "--build", build, "-j", jobs, "--target", *all_targets], setup_log) != 0:
    sys.exit(f"the unmutated tree does not build, see {setup_log}")

# The tests' own TIMEOUT property (300 s) wins over ctest --timeout, so the bound on a mutant
# that makes a test hang is the limit on the whole ctest run.
def ctest(regex, log):
    return run(["ctest", "--test-dir", build, "-R", regex, "--no-tests=error", "--output-on-failure"],
               log, limit=timeout)

# The covering tests must pass without a mutant, or a "killed" would mean nothing.
for regex in sorted({m["regex"] for m in mutants}):
    rc = ctest(regex, setup_log)
    if rc != 0:
        sys.exit(f"tests {regex} fail (or are missing) without any mutant, see {setup_log}")
print("baseline tests pass", flush=True)

results = []
for i, m in enumerate(mutants, 1):
    path = os.path.join(src, m["file"])
    original = open(path).read()
    log = os.path.join(log_dir, m["id"] + ".log")
    if os.path.exists(log):
        os.remove(log)
    start = time.monotonic()
    try:
        with open(path, "w") as f:
            f.write(original.replace(m["orig"], m["repl"], 1))
        built = run(["cmake", "--build", build, "-j", jobs, "--target", *m["targets"]], log, limit=1800)
        if built != 0:
            verdict = "killed (build)"
        else:
            rc = ctest(m["regex"], log)
            if rc == "timeout":
                verdict = "killed (timeout)"
            elif rc != 0:
                verdict = "killed"
            else:
                verdict = "SURVIVED"
    finally:
        with open(path, "w") as f:
            f.write(original)
    seconds = time.monotonic() - start
    results.append((m, verdict, seconds))
    print(f"[{i}/{len(mutants)}] {m['id']}: {verdict} ({seconds:.0f} s)", flush=True)

# The copy ends unmutated; rebuild so the next run starts from a clean build.
run(["cmake", "--build", build, "-j", jobs, "--target", *all_targets], setup_log)

print()
print(f"| {'mutant':28} | {'file':45} | {'result':16} | {'time':>6} |")
print(f"|{'-' * 30}|{'-' * 47}|{'-' * 18}|{'-' * 8}|")
for m, verdict, seconds in results:
    print(f"| {m['id']:28} | {m['file']:45} | {verdict:16} | {seconds:5.0f}s |")
killed = sum(1 for _, v, _ in results if v.startswith("killed"))
print(f"\n{killed} of {len(results)} killed; logs in {log_dir}")
sys.exit(0 if killed == len(results) else 1)
PY
