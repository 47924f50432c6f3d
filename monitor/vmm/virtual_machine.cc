#include "monitor/vmm/virtual_machine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <new>
#include <system_error>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "bulwark/common/log.h"
#include "bulwark/common/resource_exhaustion.h"
#include "monitor/acpi/acpi_tables.h"
#include "monitor/boot/boot_plan.h"
#include "monitor/config/input_file.h"
#include "monitor/cpu/cpu_template.h"
#include "monitor/kvm/guest_memory.h"
#include "monitor/kvm/kvm_system.h"
#include "monitor/kvm/vcpu.h"
#include "monitor/kvm/vm.h"
#include "monitor/legacy/cmos_rtc.h"
#include "monitor/legacy/i8042.h"
#include "monitor/legacy/uart16550.h"
#include "monitor/tpm/crb_device.h"
#include "monitor/tpm/swtpm_link.h"
#include "monitor/vmm/control_channel.h"
#include "monitor/vmm/control_dispatch.h"
#include "monitor/vmm/emulated_host_quirks.h"
#include "monitor/vmm/exit_codes.h"
#include "monitor/vmm/exit_stats.h"
#include "monitor/vmm/io_bus.h"
#include "monitor/vmm/long_mode_setup.h"
#include "monitor/vmm/monitor_metrics.h"
#include "monitor/vmm/monitor_seccomp.h"
#include "monitor/vmm/register_dump.h"
#include "monitor/vmm/serial_console.h"
#include "monitor/vmm/vcpu_exit_handler.h"
#include "monitor/vmm/vcpu_pause.h"
#include "monitor/vmm/device_connections.h"
#include "monitor/vmm/virtio_devices.h"
#include "monitor/vmm/vm_stop.h"
#include "policy/seccomp_policy/policy_apply.h"

namespace bulwark::vmm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kCom1Base = 0x3f8;
constexpr uint32_t kCom1Irq = 4;
constexpr uint16_t kI8042Base = 0x60;  // 0x60..0x64; KVM's in-kernel PIT owns 0x61
constexpr uint32_t kKeyboardIrq = 1;
constexpr uint32_t kMouseIrq = 12;
constexpr uint16_t kCmosBase = 0x70;
constexpr uint16_t kPostPort = 0x80;
constexpr uint64_t kMaxKernelBytes = 512ULL << 20;
constexpr size_t kMaxPendingInput = 4096;
constexpr int kKickSignal = SIGUSR1;
constexpr int kQuirkPollMs = 100;
// How long one TPM command may take in swtpm before the TPM is failed: generous for key
// generation on a loaded host, bounded so a stuck swtpm never holds a vCPU for good.
constexpr std::chrono::milliseconds kTpmCommandDeadline{30000};

void on_kick_signal(int) {}  // only interrupts KVM_RUN / blocked writes

class RunningVm final : public VirtualMachine, private VmControls {
 public:
  RunningVm(const config::VmConfig& config, kvm::KvmSystem system, kvm::GuestMemory memory, kvm::Vm vm,
            ConsoleOutput console, bool quirks_on, Clock::time_point started,
            std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends,
            std::optional<ControlChannel> control, std::optional<UniqueFd> tpm_socket)
      : config_(config),
        system_(std::move(system)),
        memory_(std::move(memory)),
        vm_(std::move(vm)),
        console_(std::move(console)),
        quirks_(memory_, quirks_on),
        uart_([this](bool level) { (void)vm_.set_irq_line(kCom1Irq, level); },
              [this](uint8_t byte) { console_.write_byte(byte); }),
        i8042_([this] { stop_.request(kExitGuestReset, "the guest reset the machine (i8042)"); },
               [this](bool level) { (void)vm_.set_irq_line(kKeyboardIrq, level); },
               [this](bool level) { (void)vm_.set_irq_line(kMouseIrq, level); }),
        // clock_gettime, not time(): one clock call in the seccomp policy covers both.
        cmos_([] {
          timespec now{};
          ::clock_gettime(CLOCK_REALTIME, &now);
          return static_cast<int64_t>(now.tv_sec);
        }),
        started_(started),
        frontends_(std::move(frontends)),
        control_(std::move(control)),
        pause_(config.vcpus, [this] { kick_all_vcpus(); }) {
    if (tpm_socket) swtpm_.emplace(std::move(*tpm_socket), kTpmCommandDeadline);
  }

  Status build(const std::vector<uint8_t>& kernel, const std::vector<uint8_t>& initrd, int& exit_code);
  int run() override;

 private:
  void vcpu_thread(size_t index);
  void guarded_vcpu_thread(size_t index);
  void kick_all_vcpus();
  void pump_console_input(std::deque<uint8_t>& pending);
  void log_summary();
  void run_tpm_command();
  // VmControls: the launcher's control channel, served on the main thread.
  PauseOutcome pause() override;
  PauseOutcome resume() override;
  bool send_ctrl_alt_del() override;
  std::string metrics_text() override;
  void flush_metrics() override { log_summary(); }
  ReplaceOutcome replace_device(size_t index, std::optional<UniqueFd> socket) override {
    if (!devices_) return {ReplaceOutcome::Kind::kNoSuchDevice, ""};
    return devices_->replace_device(index, std::move(socket), bus_);
  }

  config::VmConfig config_;
  kvm::KvmSystem system_;
  kvm::GuestMemory memory_;
  kvm::Vm vm_;
  ConsoleOutput console_;
  EmulatedHostQuirks quirks_;
  legacy::Uart16550 uart_;
  legacy::I8042 i8042_;
  legacy::CmosRtc cmos_;
  IoBus bus_;
  VmStop stop_;
  std::vector<kvm::Vcpu> vcpus_;
  std::optional<MonitorSeccompPrograms> seccomp_;
  std::vector<pthread_t> threads_;
  ExitStats exit_stats_;
  Clock::time_point started_;
  std::atomic<bool> first_run_logged_{false};
  // Connected before the VM is built; handed to devices_ in build().
  std::vector<std::unique_ptr<vhost_user::VhostUserFrontend>> frontends_;
  std::unique_ptr<VirtioDevices> devices_;  // null without devices
  std::optional<ControlChannel> control_;    // none without config.control_fd
  VcpuPause pause_;
  // The TPM ("tpm_fd"): the CRB device on the bus, its commands forwarded to swtpm by
  // whichever vCPU started one, after its access and outside the bus lock.
  std::optional<tpm::SwtpmLink> swtpm_;
  std::unique_ptr<tpm::CrbDevice> crb_;
};

Status RunningVm::build(const std::vector<uint8_t>& kernel, const std::vector<uint8_t>& initrd, int& exit_code) {
  exit_code = kExitHostError;
  const cpu::CpuTemplate* tmpl = cpu::find_cpu_template(config_.cpu_template);
  if (tmpl == nullptr) {
    exit_code = kExitConfigError;
    return Error("unknown CPU template \"" + config_.cpu_template + "\" (see --list-cpu-templates)");
  }
  if (!bus_.add_port_device(kCom1Base, 8, &uart_, "uart") || !bus_.add_port_device(kI8042Base, 5, &i8042_, "i8042") ||
      !bus_.add_port_device(kCmosBase, 2, &cmos_, "cmos") || !bus_.add_ignored_ports(kPostPort, 1, "post"))
    return Error("internal: overlapping port ranges");
  if (!frontends_.empty()) {
    auto devices = VirtioDevices::create(bus_, vm_, std::move(frontends_));
    if (!devices.ok()) return devices.error();
    devices_ = std::move(*devices);
  }
  if (swtpm_) {
    crb_ = std::make_unique<tpm::CrbDevice>();
    if (!bus_.add_mmio_device(tpm::kCrbBase, tpm::kCrbSize, crb_.get(), "tpm-crb"))
      return Error("internal: the TPM's CRB region overlaps another device");
    bus_.add_after_access([this] { run_tpm_command(); });
    log::info("TPM: CRB at 0xfed40000, commands to swtpm");
  }
  const auto& layout = memory_.layout();
  cmos_.set_memory_size(layout.low_ram_end(), layout.ram_bytes() - layout.low_ram_end());

  auto supported = system_.supported_cpuid();
  if (!supported.ok()) return supported.error();
  for (uint32_t i = 0; i < config_.vcpus; ++i) {
    auto vcpu = kvm::Vcpu::create(system_, vm_, i);
    if (!vcpu.ok()) return vcpu.error();
    BULWARK_TRY(vcpu->set_cpuid(cpu::cpuid_for_vcpu(*tmpl, *supported, i, config_.vcpus)));
    vcpus_.push_back(std::move(*vcpu));
  }

  // What the guest really sees: KVM may keep bits the template clears. Those features are
  // switched off on the kernel command line instead (Linux reads clearcpuid=/noxsave).
  std::string cmdline = config_.cmdline;
  auto effective = vcpus_.front().get_cpuid();
  if (!effective.ok()) return effective.error();
  const auto visible = cpu::features_still_visible(*tmpl, *effective);
  if (!visible.empty()) {
    const std::string args = cpu::linux_args_disabling(visible);
    log::info("CPU template " + std::string(tmpl->name) + ": KVM cannot hide some features from CPUID; adding \"" +
              args + "\" to the kernel command line");
    cmdline += " " + args;
  }
  if (quirks_.syscall_fix_enabled()) {
    // Timer set-up for emulated hosts: without it Linux stalls once it switches to
    // kvm-clock (a timer interrupt takes longer than the tick). TSC and loops-per-jiffy are
    // given as 4x the host's, so the guest's ticks come 4x less often in real time.
    auto khz = vcpus_.front().tsc_khz();
    if (khz.ok()) {
      const uint64_t guest_khz = uint64_t{*khz} * 4;
      const std::string args = "no-kvmclock tsc=reliable no_timer_check tsc_early_khz=" + std::to_string(guest_khz) +
                               " lpj=" + std::to_string(guest_khz * 1000 / 250);
      log::info("host KVM emulates guest code: adding \"" + args + "\" to the kernel command line");
      cmdline += " " + args;
    }
  }

  const std::vector<uint8_t> acpi = acpi::build_acpi_tables(boot::kAcpiTablesAddr, config_.vcpus, {.tpm = crb_ != nullptr});
  auto plan = boot::plan_linux_boot(kernel, initrd, cmdline, layout, boot::kAcpiTablesAddr);
  if (!plan.ok()) {
    exit_code = kExitBadImage;
    return plan.error();
  }
  BULWARK_TRY(boot::apply_boot_plan(*plan, [this](uint64_t gpa, uint64_t len) { return memory_.span(gpa, len); }));
  auto acpi_area = memory_.span(boot::kAcpiTablesAddr, acpi.size());
  if (!acpi_area || acpi.size() > boot::kAcpiTablesSize) return Error("ACPI tables do not fit");
  std::copy(acpi.begin(), acpi.end(), acpi_area->begin());
  BULWARK_TRY(write_long_mode_tables(memory_));
  BULWARK_TRY(enter_long_mode(vcpus_.front(), plan->entry64, plan->zero_page_addr));

  exit_code = kExitConfigError;
  auto seccomp = compile_monitor_seccomp(config_);
  if (!seccomp.ok()) return seccomp.error();
  seccomp_ = std::move(*seccomp);
  if (!seccomp_) log::warn("seccomp is off: the monitor runs without a syscall filter");
  exit_code = 0;
  return ok_status();
}

PauseOutcome RunningVm::pause() {
  const PauseOutcome outcome = pause_.pause();
  if (outcome == PauseOutcome::kDone) log::info("paused: every vCPU is stopped");
  if (outcome == PauseOutcome::kTimedOut) log::warn("pause: a vCPU did not stop in time; the VM keeps running");
  return outcome;
}

PauseOutcome RunningVm::resume() {
  const PauseOutcome outcome = pause_.resume();
  if (outcome == PauseOutcome::kDone) log::info("resumed");
  return outcome;
}

bool RunningVm::send_ctrl_alt_del() {
  // Under the bus lock, as the vCPUs' port accesses; the i8042 raises IRQ 1 through its
  // keyboard line (KVM_IRQ_LINE) as for any keyboard byte.
  return bus_.with_devices_locked([this] { return i8042_.inject_ctrl_alt_del(); });
}

std::string RunningVm::metrics_text() {
  MonitorMetrics metrics;
  for (const auto& [reason, count] : exit_stats_.nonzero_counts())
    metrics.vcpu_exits.push_back({ExitStats::reason_name(reason), count});
  metrics.vcpus = vcpus_.size();
  metrics.paused = pause_.paused();
  metrics.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
  return format_prometheus_metrics(metrics);
}

void RunningVm::kick_all_vcpus() {
  for (size_t i = 0; i < threads_.size(); ++i) {
    vcpus_[i].run_page()->immediate_exit = 1;
    ::pthread_kill(threads_[i], kKickSignal);
  }
}

// No exception may leave a thread (std::terminate would abort the whole monitor): one that
// escapes a vCPU's loop (a failed allocation) stops the VM with an exit code instead.
void RunningVm::guarded_vcpu_thread(size_t index) {
  try {
    vcpu_thread(index);
  } catch (const std::bad_alloc&) {
    stop_.request(kExitResourceExhausted,
                  resource_exhausted_message("memory", "vCPU " + std::to_string(index) + ": an allocation failed"));
  } catch (const std::exception& e) {
    stop_.request(kExitHostError, "vCPU " + std::to_string(index) + ": " + e.what());
  }
  pause_.thread_exited(index);  // a pause never waits for a vCPU that has ended
}

void RunningVm::vcpu_thread(size_t index) {
  kvm::Vcpu& vcpu = vcpus_[index];
  EmulatedHostQuirks::VcpuState state;
  VcpuExitContext exit_context{bus_, quirks_, stop_, exit_stats_, static_cast<size_t>(system_.vcpu_mmap_size())};
  if (seccomp_) {
    // From here on this thread may only make the calls in monitor-vcpu.policy.
    if (auto installed = policy::install_seccomp_filter(seccomp_->vcpu_thread); !installed.ok()) {
      stop_.request(kExitHostError, "vCPU " + std::to_string(index) + ": " + installed.error().message());
      return;
    }
  }
  while (!stop_.requested()) {
    // Paused (the control channel's SetVmState): wait here, outside KVM_RUN, until resumed.
    pause_.park_if_requested(index, [&vcpu](uint64_t cycles) { return vcpu.rewind_tsc(cycles); });
    if (stop_.requested()) break;
    if (index == 0 && !first_run_logged_.exchange(true)) {
      log::debug("timing: first KVM_RUN " +
                 std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count()) +
                 " us after start");
    }
    const int err = vcpu.run();
    if (err == EINTR) {
      vcpu.run_page()->immediate_exit = 0;
      quirks_.arm_syscall_fix_if_due(vcpu, state);
      continue;
    }
    if (err == EAGAIN) continue;  // secondary vCPUs right after INIT
    if (err != 0) {
      stop_.request(kExitHostError,
                    "KVM_RUN on vCPU " + std::to_string(index) + " failed: " + std::strerror(err) + "\n" + register_dump(vcpu));
      return;
    }
    if (!handle_vcpu_exit(vcpu, state, exit_context)) return;
  }
}

void RunningVm::run_tpm_command() {
  if (!crb_ || !crb_->command_waiting()) return;
  auto command = bus_.with_devices_locked([this] { return crb_->take_command(); });
  if (!command) return;  // another vCPU took it
  auto response = swtpm_->transact(*command, tpm::kDataBufferSize);
  bus_.with_devices_locked([&] {
    if (response.ok()) {
      crb_->complete(*response);
    } else {
      crb_->fail();
    }
  });
  if (!response.ok()) {
    log::error("TPM failed (every later command gets TPM_RC_FAILURE; the VM goes on): " +
               response.error().message());
  }
}

void RunningVm::pump_console_input(std::deque<uint8_t>& pending) {
  bus_.with_devices_locked([&] {
    while (!pending.empty() && uart_.receive_byte(pending.front())) pending.pop_front();
  });
}

void RunningVm::log_summary() {
  std::string line = exit_stats_.summary();
  const IoCounters& io = bus_.counters();
  line += "; unknown port reads=" + std::to_string(io.unknown_port_reads.load()) +
          " writes=" + std::to_string(io.unknown_port_writes.load()) +
          "; unknown MMIO reads=" + std::to_string(io.unknown_mmio_reads.load()) +
          " writes=" + std::to_string(io.unknown_mmio_writes.load());
  const QuirkCounters& q = quirks_.counters();
  line += "; completed instructions=" + std::to_string(q.instructions_completed.load()) +
          " syscalls=" + std::to_string(q.syscalls_completed.load()) +
          " page faults passed=" + std::to_string(q.page_faults_passed_through.load());
  if (crb_) {
    const uint64_t errors = bus_.with_devices_locked([this] { return crb_->guest_errors(); });
    line += "; TPM accesses refused=" + std::to_string(errors) + (crb_->failed() ? " (TPM failed)" : "");
  }
  log::info(line);
  if (console_.bytes_written() > 0) {
    log::debug("timing: first serial byte " +
               std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(console_.first_byte_time() - started_).count()) +
               " us after start; " + std::to_string(console_.bytes_written()) + " bytes");
  }
}

int RunningVm::run() {
  struct sigaction action {};
  action.sa_handler = on_kick_signal;  // no SA_RESTART: the signal must interrupt KVM_RUN
  sigemptyset(&action.sa_mask);
  ::sigaction(kKickSignal, &action, nullptr);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  UniqueFd signal_fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid()) {
    log::error(Error::from_errno("signalfd", errno).message());
    return kExitHostError;
  }

  std::vector<std::thread> threads;
  threads.reserve(vcpus_.size());
  threads_.reserve(vcpus_.size());
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    // A thread the host will not give (EAGAIN: the pids cgroup's pids.max or RLIMIT_NPROC)
    // stops the VM with its own exit code; the vCPUs already running are kicked and joined
    // below like on any other stop.
    try {
      threads.emplace_back([this, i] { guarded_vcpu_thread(i); });
    } catch (const std::system_error& e) {
      stop_.request(kExitResourceExhausted,
                    resource_exhausted_message(kThreadsResource, "cannot create the thread for vCPU " +
                                                                     std::to_string(i) + " of " +
                                                                     std::to_string(vcpus_.size()) + ": " + e.what()));
      break;
    }
    threads_.push_back(threads.back().native_handle());
  }
  // A stop also releases vCPUs parked by a pause.
  auto stop_all = [this] {
    pause_.release_for_stop();
    kick_all_vcpus();
  };
  stop_.set_kick(stop_all);
  if (stop_.requested()) stop_all();
  if (seccomp_) {
    // The main thread's own policy, last: no thread is created and no file opened after this.
    if (auto installed = policy::install_seccomp_filter(seccomp_->main_thread); !installed.ok())
      stop_.request(kExitHostError, "main thread: " + installed.error().message());
  }

  bool input_open = config_.serial_input;
  std::deque<uint8_t> pending;
  std::vector<pollfd> fds;
  while (!stop_.requested()) {
    fds.assign(4, pollfd{});
    fds[0] = {stop_.wake_fd(), POLLIN, 0};
    fds[1] = {signal_fd.get(), POLLIN, 0};
    size_t count = 2;
    size_t stdin_slot = 0;    // 0: not polled this time
    size_t control_slot = 0;  // likewise
    if (input_open && pending.size() < kMaxPendingInput) {
      stdin_slot = count;
      fds[count++] = {STDIN_FILENO, POLLIN, 0};
    }
    if (control_ && control_->is_open()) {
      control_slot = count;
      fds[count++] = {control_->fd(), POLLIN, 0};
    }
    fds.resize(count);  // device entries follow the fixed ones
    const size_t first_device_fd = fds.size();
    if (devices_) devices_->add_pollfds(fds);
    // With input waiting for room in the UART FIFO, look again soon: the guest drains it.
    int timeout_ms = pending.empty() ? -1 : 5;
    if (quirks_.syscall_fix_enabled() && timeout_ms < 0) timeout_ms = kQuirkPollMs;
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      stop_.request(kExitHostError, Error::from_errno("poll", errno).message());
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signal_fd.get(), &info, sizeof info) == sizeof info) {
        stop_.request(kExitStoppedBySignal, std::string("stopped by ") + (info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM"));
      }
    }
    if (control_slot != 0 && fds[control_slot].revents != 0) control_->serve(fds[control_slot].revents, *this);
    if (stdin_slot != 0 && (fds[stdin_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
      uint8_t buffer[512];
      const size_t room = std::min(sizeof buffer, kMaxPendingInput - pending.size());
      const ssize_t n = ::read(STDIN_FILENO, buffer, room);
      if (n > 0) {
        pending.insert(pending.end(), buffer, buffer + n);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        input_open = false;  // end of input: the guest simply receives nothing more
      }
    }
    if (devices_ && ready > 0) devices_->handle_poll(fds, first_device_fd, bus_);
    if (!pending.empty()) pump_console_input(pending);
    if (quirks_.syscall_fix_enabled()) {
      // A quiet guest may make no exits at all between setting up SYSCALL and its first
      // user-mode SYSCALL: nudge every vCPU out of KVM_RUN now and then so each one's
      // breakpoint gets armed (a few exits a second).
      for (pthread_t t : threads_) ::pthread_kill(t, kKickSignal);
    }
  }
  for (std::thread& t : threads) t.join();
  log_summary();
  const int code = stop_.exit_code();
  const std::string message = stop_.message();
  if (code == kExitGuestReset || code == kExitStoppedBySignal) {
    log::info(message);
  } else {
    log::error(message);
  }
  return code;
}

}  // namespace

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Result<std::unique_ptr<VirtualMachine>> VirtualMachine::create(const config::VmConfig& config, int& exit_code,
                                                              Clock::time_point process_start) {
  exit_code = kExitKvmUnavailable;
  auto system = kvm::KvmSystem::open();
  if (!system.ok()) return system.error();

  exit_code = kExitConfigError;
  auto kernel = config::read_regular_file("kernel", config.kernel, kMaxKernelBytes);
  if (!kernel.ok()) return kernel.error();
  std::vector<uint8_t> initrd;
  if (!config.initrd.empty()) {
    auto bytes = config::read_regular_file("initrd", config.initrd, config.memory_mib << 20);
    if (!bytes.ok()) return bytes.error();
    initrd = std::move(*bytes);
  }
  auto console = ConsoleOutput::open(config.serial, config.serial_path);
  if (!console.ok()) return console.error();

  // Device sockets first: a path nobody listens on is a configuration error.
  auto device_sockets = open_device_sockets(config.devices);
  if (!device_sockets.ok()) return device_sockets.error();
  std::optional<ControlChannel> control;
  if (config.control_fd != -1) {
    auto adopted = ControlChannel::adopt(config.control_fd);
    if (!adopted.ok()) return adopted.error();
    control = std::move(*adopted);
  }

  std::optional<UniqueFd> tpm_socket;
  if (config.tpm_fd != -1) {
    UniqueFd fd(config.tpm_fd);
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0 || !S_ISSOCK(st.st_mode))
      return Error("tpm_fd " + std::to_string(config.tpm_fd) + " is not an open socket (swtpm's data channel)");
    tpm_socket = std::move(fd);
  }

  exit_code = kExitHostError;
  const auto layout = boot::GuestLayout::for_ram_size(config.memory_mib << 20);
  auto memory = kvm::GuestMemory::create(layout);
  if (!memory.ok()) return memory.error();
  auto vm = kvm::Vm::create(*system, *memory);
  if (!vm.ok()) return vm.error();
  // Every handshake before any vCPU exists: the vCPU threads only ever talk to connected devices.
  // A launcher on the control channel may replace a device process that dies (ReplaceDevice).
  auto frontends = connect_frontends(config.devices, std::move(*device_sockets), *memory,
                                     /*replacement_possible=*/config.control_fd != -1);
  if (!frontends.ok()) return frontends.error();

  bool quirks = false;
  switch (config.emulated_host_quirks) {
    case config::EmulatedHostQuirks::kOn: quirks = true; break;
    case config::EmulatedHostQuirks::kOff: quirks = false; break;
    case config::EmulatedHostQuirks::kAuto: quirks = EmulatedHostQuirks::detected_on_this_host(); break;
  }
  if (quirks) log::info("host KVM runs guest code in its emulator: emulated-host workarounds on");

  auto running = std::make_unique<RunningVm>(config, std::move(*system), std::move(*memory), std::move(*vm),
                                             std::move(*console), quirks, process_start, std::move(*frontends),
                                             std::move(control), std::move(tpm_socket));
  auto built = running->build(*kernel, initrd, exit_code);
  if (!built.ok()) return built.error();
  return std::unique_ptr<VirtualMachine>(std::move(running));
}

}  // namespace bulwark::vmm
