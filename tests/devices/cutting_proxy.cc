#include "tests/devices/cutting_proxy.h"

#include <sys/socket.h>

#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::test {
namespace {

using vhost_user::Request;

bool expects_reply(const vhost_user::Message& m) {
  switch (static_cast<Request>(m.request)) {
    case Request::GET_FEATURES:
    case Request::GET_PROTOCOL_FEATURES:
    case Request::GET_QUEUE_NUM:
    case Request::GET_CONFIG:
    case Request::GET_VRING_BASE:
    case Request::GET_MAX_MEM_SLOTS:
      return true;
    default:
      return (m.flags & vhost_user::kNeedReplyFlag) != 0;
  }
}

}  // namespace

CuttingProxy::CuttingProxy(UniqueFd monitor_side, UniqueFd device_side, uint32_t cut_at_request,
                           std::function<void()> on_cut)
    : monitor_side_(std::move(monitor_side)), device_side_(std::move(device_side)) {
  thread_ = std::thread([this, cut_at_request, on_cut = std::move(on_cut)] { run(cut_at_request, on_cut); });
}

CuttingProxy::~CuttingProxy() {
  ::shutdown(monitor_side_.get(), SHUT_RDWR);
  ::shutdown(device_side_.get(), SHUT_RDWR);
  thread_.join();
}

void CuttingProxy::run(uint32_t cut_at_request, std::function<void()> on_cut) {
  for (;;) {
    auto request = vhost_user::receive_message(monitor_side_.get());
    if (!request.ok()) return;
    if (request->request == cut_at_request) {
      cut_ = true;
      on_cut();
      ::shutdown(monitor_side_.get(), SHUT_RDWR);
      return;
    }
    if (!vhost_user::send_message(device_side_.get(), *request).ok()) return;
    forwarded_.fetch_add(1);
    if (!expects_reply(*request)) continue;
    auto reply = vhost_user::receive_message(device_side_.get());
    if (!reply.ok() || !vhost_user::send_message(monitor_side_.get(), *reply).ok()) return;
  }
}

}  // namespace bulwark::test
