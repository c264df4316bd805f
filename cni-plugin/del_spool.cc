#include "del_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace vmip::cni {
namespace {

CniError IoError(const std::string& what, const std::string& path) {
  return MakeError(kIoFailure, what + " " + path + ": " + strerror(errno));
}

// mkdir -p with mode 0700 for every directory it creates.
CniError MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return IoError("mkdir", prefix);
  }
  return CniError::Ok();
}

CniError WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("write", path);
    done += static_cast<size_t>(n);
  }
  return CniError::Ok();
}

CniError SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open", dir);
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? CniError::Ok() : IoError("fsync", dir);
}

constexpr std::string_view kTempPrefix = "/.del-";
constexpr size_t kTempRandom = 6;  // mkstemps' XXXXXX

// Writes data to a fresh temp file in dir and fsyncs it; *tmp is its path. close() is
// checked too: some file systems report a failed write only there.
CniError WriteTemp(const std::string& dir, const std::string& data, std::string* tmp) {
  *tmp = dir + std::string(kTempPrefix) + std::string(kTempRandom, 'X') + ".tmp";
  int fd = mkstemps(tmp->data(), 4);
  if (fd < 0) return IoError("create temp file in", dir);
  CniError err = WriteAll(fd, data, *tmp);
  if (err.ok() && fsync(fd) != 0) err = IoError("fsync", *tmp);
  if (close(fd) != 0 && err.ok()) err = IoError("close", *tmp);
  if (!err.ok()) unlink(tmp->c_str());
  return err;
}

// Network names and container IDs may contain '-', the separator: it and every byte
// outside [A-Za-z0-9._] become %XX, so two different callers never share a name.
std::string EscapeForName(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Moves the written temp file to the record's final path. A name too long for the file
// system becomes "del-~<the temp file's random part>.pb" ('~' never appears in escaped
// names), placed with link(), which never replaces an existing record: a long name is
// recorded once per DEL instead of overwritten (replaying a DEL twice is harmless).
// *taken: the unique name exists already (try again with another temp file).
CniError Publish(const std::string& dir, const std::string& name, const std::string& tmp,
                 std::string* path, bool* taken) {
  bool unique = name.size() > kMaxSpoolName;
  *path = unique ? dir + "/del-~" + tmp.substr(dir.size() + kTempPrefix.size(), kTempRandom) + ".pb"
                 : dir + "/" + name;
  int rc = unique ? link(tmp.c_str(), path->c_str()) : rename(tmp.c_str(), path->c_str());
  *taken = rc != 0 && errno == EEXIST;
  CniError err = rc == 0 ? CniError::Ok() : IoError(unique ? "link to" : "rename to", *path);
  if (unique || rc != 0) unlink(tmp.c_str());
  return err;
}

}  // namespace

std::string SpoolFileName(const vmip::v1::DelRequest& req) {
  const auto& c = req.caller();
  return "del-" + EscapeForName(c.network()) + "-" + EscapeForName(c.container_id()) + "-" +
         EscapeForName(c.ifname()) + ".pb";
}

CniError SpoolDel(const std::string& dir, const vmip::v1::DelRequest& req, std::string* path) {
  std::string data;
  if (!req.SerializeToString(&data)) return MakeError(kIoFailure, "cannot serialize DelRequest");
  if (auto err = MakeDirs(dir); !err.ok()) return err;
  CniError err;
  bool taken = true;
  for (int attempt = 0; attempt < 8 && taken; attempt++) {
    std::string tmp;
    if (err = WriteTemp(dir, data, &tmp); !err.ok()) return err;
    if (err = Publish(dir, SpoolFileName(req), tmp, path, &taken); err.ok()) return SyncDir(dir);
  }
  return err;
}

}  // namespace vmip::cni
