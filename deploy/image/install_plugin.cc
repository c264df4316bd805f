// vmip-install-plugin: the DaemonSet's init container. Puts the vmip CNI plugin into
// the host's CNI bin dir so that the container runtime never sees a half-written
// binary: write a temporary file in the same directory, fsync it, check its SHA-256,
// rename it over the old plugin (atomic within one file system), fsync the directory,
// then check the installed file's SHA-256 again. Temporary files are removed on every
// path, including ones a killed earlier run left behind.
//
//   vmip-install-plugin --source /opt/vmip/bin/vmip --bin-dir /host/opt/cni/bin [--name vmip]
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr char kTempPrefix[] = ".vmip-install.";

struct Options {
  std::string source = "/opt/vmip/bin/vmip";
  std::string bin_dir;
  std::string name = "vmip";
};

int Fail(const std::string& msg) {
  fprintf(stderr, "vmip-install-plugin: %s\n", msg.c_str());
  return 1;
}

std::string Errno(const std::string& what) {
  return what + ": " + strerror(errno);
}

bool ReadAll(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out->append(buf, size_t(n));
  close(fd);
  return n == 0;
}

bool WriteAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < len; i++) {
    snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

// SHA-256 of the file at path, or "" when it cannot be read.
std::string FileSha256(const std::string& path) {
  std::string data;
  return ReadAll(path, &data) ? Sha256(data) : "";
}

// Removes temporary files of earlier runs that died between create and rename.
void RemoveStaleTemps(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d))
    if (strncmp(e->d_name, kTempPrefix, sizeof kTempPrefix - 1) == 0)
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
}

bool SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

// Writes data to a fresh temporary file in dir (mode 0755, synced) and returns its path.
std::string WriteTemp(const std::string& dir, const std::string& data, std::string* error) {
  std::string path = dir + "/" + kTempPrefix + "XXXXXX";
  std::vector<char> tmpl(path.begin(), path.end());
  tmpl.push_back('\0');
  int fd = mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) {
    *error = Errno("cannot create a temporary file in " + dir);
    return "";
  }
  path = tmpl.data();
  bool ok = WriteAll(fd, data) && fchmod(fd, 0755) == 0 && fsync(fd) == 0;
  if (!ok) *error = Errno("cannot write " + path);
  if (close(fd) != 0 && ok) {
    ok = false;
    *error = Errno("cannot close " + path);
  }
  if (!ok) {
    unlink(path.c_str());
    return "";
  }
  return path;
}

int Install(const Options& o) {
  std::string data;
  if (!ReadAll(o.source, &data)) return Fail(Errno("cannot read " + o.source));
  if (data.empty()) return Fail(o.source + " is empty");
  const std::string want = Sha256(data);
  const std::string target = o.bin_dir + "/" + o.name;
  RemoveStaleTemps(o.bin_dir);
  if (FileSha256(target) == want) {
    printf("vmip-install-plugin: %s is already sha256 %s\n", target.c_str(), want.c_str());
    return 0;
  }
  std::string error;
  std::string temp = WriteTemp(o.bin_dir, data, &error);
  if (temp.empty()) return Fail(error);
  if (std::string got = FileSha256(temp); got != want) {
    unlink(temp.c_str());
    return Fail("temporary copy " + temp + " has sha256 " + got + ", want " + want);
  }
  if (rename(temp.c_str(), target.c_str()) != 0) {
    error = Errno("cannot rename " + temp + " to " + target);
    unlink(temp.c_str());
    return Fail(error);
  }
  if (!SyncDir(o.bin_dir)) return Fail(Errno("cannot sync " + o.bin_dir));
  if (std::string got = FileSha256(target); got != want)
    return Fail("installed " + target + " has sha256 " + got + ", want " + want);
  printf("vmip-install-plugin: installed %s sha256 %s\n", target.c_str(), want.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&](const char* flag, std::string* into) {
      std::string prefix = std::string(flag) + "=";
      if (arg.rfind(prefix, 0) == 0) {
        *into = arg.substr(prefix.size());
        return true;
      }
      if (arg == flag && i + 1 < argc) {
        *into = argv[++i];
        return true;
      }
      return false;
    };
    if (value("--source", &o.source) || value("--bin-dir", &o.bin_dir) || value("--name", &o.name))
      continue;
    return Fail(
        "usage: vmip-install-plugin [--source FILE] --bin-dir DIR [--name NAME]; "
        "unknown argument " +
        arg);
  }
  if (o.bin_dir.empty()) return Fail("--bin-dir is required");
  if (o.name.empty() || o.name.find('/') != std::string::npos)
    return Fail("--name must be a file name, got [" + o.name + "]");
  struct stat st;
  if (stat(o.bin_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Fail("CNI bin dir " + o.bin_dir + " is not a directory");
  return Install(o);
}
