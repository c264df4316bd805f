#include "grpc_wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace vmip::cni {
namespace {

using Clock = std::chrono::steady_clock;

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kWindowUpdate = 8,
};
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4, kPadded = 0x8;
constexpr size_t kMaxFrame = 16384;  // the HTTP/2 default every peer accepts
constexpr uint32_t kStream = 1;

struct Frame {
  uint8_t type = 0, flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

void Put32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

std::string FrameBytes(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string out;
  uint32_t len = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(len >> 16));
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  Put32(&out, stream);
  return out + payload;
}

// HPACK string literal without Huffman coding (7-bit length prefix).
void HpackString(std::string* out, const std::string& s) {
  size_t n = s.size();
  if (n < 127) {
    out->push_back(static_cast<char>(n));
  } else {
    out->push_back(0x7f);
    for (n -= 127; n >= 128; n >>= 7) out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    out->push_back(static_cast<char>(n));
  }
  *out += s;
}

std::string RequestHeaders(const std::string& path) {
  std::string h;
  h.push_back(static_cast<char>(0x83));  // :method POST (static table 3)
  h.push_back(static_cast<char>(0x86));  // :scheme http (static table 6)
  h.push_back(0x04);                     // :path, literal value, name from static table 4
  HpackString(&h, path);
  h.push_back(0x01);  // :authority (static table 1)
  HpackString(&h, "localhost");
  h.push_back(0x0f);  // content-type (static table 31 = 15 + 16)
  h.push_back(0x10);
  HpackString(&h, "application/grpc");
  h.push_back(0x00);  // te: a literal name
  HpackString(&h, "te");
  HpackString(&h, "trailers");
  return h;
}

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  // Empty on success, else why not.
  std::string Open(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) return "socket path too long";
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.data(), path.size());
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return strerror(errno);
    // A daemon that stopped accepting fills its backlog; connect must not wait forever.
    timeval tv{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (errno == EACCES)
        return "permission denied (the plugin runs as root, as container runtimes do)";
      return strerror(errno);
    }
    return "";
  }
  bool Send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one frame; false on timeout (timed_out set) or a closed connection.
  bool Read(Frame* f, Clock::time_point deadline, bool* timed_out) {
    uint8_t head[9];
    if (!ReadExactly(head, 9, deadline, timed_out)) return false;
    size_t len = (size_t{head[0]} << 16) | (size_t{head[1]} << 8) | head[2];
    f->type = head[3];
    f->flags = head[4];
    f->stream = ((uint32_t{head[5]} << 24) | (uint32_t{head[6]} << 16) | (uint32_t{head[7]} << 8) |
                 head[8]) &
                0x7fffffff;
    f->payload.resize(len);
    return len == 0 ||
           ReadExactly(reinterpret_cast<uint8_t*>(&f->payload[0]), len, deadline, timed_out);
  }

 private:
  // Frames arrive a few at a time (SETTINGS, WINDOW_UPDATE, PING, then HEADERS and DATA),
  // so reads go through a buffer: one recv takes whatever the daemon sent so far, not one
  // recv per frame header and one per payload (about 20 syscalls per call before).
  bool ReadExactly(uint8_t* buf, size_t len, Clock::time_point deadline, bool* timed_out) {
    while (in_.size() - used_ < len) {
      if (used_ > 0) {
        in_.erase(0, used_);
        used_ = 0;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      int ready = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count()) + 1) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        *timed_out = true;
        return false;
      }
      char chunk[kMaxFrame];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      in_.append(chunk, static_cast<size_t>(n));
    }
    memcpy(buf, in_.data() + used_, len);
    used_ += len;
    return true;
  }
  std::string in_;  // received, not yet consumed from used_ on
  size_t used_ = 0;
  int fd_ = -1;
};

// DATA payload without its padding.
std::string DataOf(const Frame& f) {
  if (!(f.flags & kPadded) || f.payload.empty()) return f.payload;
  size_t pad = static_cast<uint8_t>(f.payload[0]);
  if (pad + 1 > f.payload.size()) return "";
  return f.payload.substr(1, f.payload.size() - 1 - pad);
}

std::string WindowUpdate(uint32_t stream, uint32_t increment) {
  std::string p;
  Put32(&p, increment);
  return FrameBytes(kWindowUpdate, 0, stream, p);
}

std::string RequestBytes(const std::string& path, const std::string& request) {
  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  out += FrameBytes(kSettings, 0, 0, "");
  out += FrameBytes(kHeaders, kEndHeaders, kStream, RequestHeaders(path));
  std::string message(1, '\0');  // not compressed
  Put32(&message, static_cast<uint32_t>(request.size()));
  message += request;
  for (size_t at = 0; at < message.size(); at += kMaxFrame) {
    bool last = at + kMaxFrame >= message.size();
    out += FrameBytes(kData, last ? kEndStream : 0, kStream, message.substr(at, kMaxFrame));
  }
  return out;
}

}  // namespace

WireResult UnaryCall(const std::string& socket_path, const std::string& path,
                     const std::string& request, Clock::time_point connect_deadline,
                     Clock::time_point call_deadline) {
  Connection conn;
  if (std::string why = conn.Open(socket_path); !why.empty())
    return {WireStatus::kUnreachable, why, ""};
  if (!conn.Send(RequestBytes(path, request)))
    return {WireStatus::kUnreachable, "connection closed", ""};
  bool answered = false;  // any frame from the server: it is alive and speaks HTTP/2
  std::string body;
  for (int frames = 0; frames < 10000; frames++) {
    Frame f;
    bool timed_out = false;
    if (!conn.Read(&f, answered ? call_deadline : connect_deadline, &timed_out)) {
      if (!answered)
        return {WireStatus::kUnreachable,
                timed_out ? "no answer to the connection" : "connection closed", ""};
      return {timed_out ? WireStatus::kTimeout : WireStatus::kFailed,
              timed_out ? "no reply in time" : "connection closed before the reply", ""};
    }
    answered = true;
    if (f.type == kSettings && !(f.flags & kAck)) {
      conn.Send(FrameBytes(kSettings, kAck, 0, ""));
    } else if (f.type == kPing && !(f.flags & kAck)) {
      conn.Send(FrameBytes(kPing, kAck, 0, f.payload));
    } else if (f.type == kData && f.stream == kStream) {
      body += DataOf(f);
      if (body.size() >= 5) {
        size_t len = (size_t{static_cast<uint8_t>(body[1])} << 24) |
                     (size_t{static_cast<uint8_t>(body[2])} << 16) |
                     (size_t{static_cast<uint8_t>(body[3])} << 8) | static_cast<uint8_t>(body[4]);
        if (body[0] != 0) return {WireStatus::kFailed, "compressed reply", ""};
        if (body.size() >= 5 + len) return {WireStatus::kOk, "", body.substr(5, len)};
      }
      // Keep both flow-control windows open while a big reply is still coming (not after
      // the last frame: the connection closes next, and each frame wakes the daemon).
      if (!f.payload.empty()) {
        uint32_t n = static_cast<uint32_t>(f.payload.size());
        conn.Send(WindowUpdate(0, n) + WindowUpdate(kStream, n));
      }
    } else if ((f.type == kHeaders && f.stream == kStream && (f.flags & kEndStream)) ||
               (f.type == kRstStream && f.stream == kStream) || f.type == kGoAway) {
      return {WireStatus::kFailed, "the call ended without a reply (gRPC error status)", ""};
    }
  }
  return {WireStatus::kFailed, "too many frames", ""};
}

}  // namespace vmip::cni
