#include "store/node_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace apitrail {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAllAndSync(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Errno("fsync", path);
  return Status::Ok();
}

Status SyncDirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync directory", dir);
}

}  // namespace

struct NodeKey::Impl {
  PkeyPtr pkey;
};

NodeKey::~NodeKey() { delete impl_; }

Result<std::unique_ptr<NodeKey>> NodeKey::FromPkey(void* raw) {
  PkeyPtr pkey(static_cast<EVP_PKEY*>(raw));
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::Corruption("node key is not an Ed25519 key");
  }
  unsigned char pub[32];
  size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub, &len) != 1 || len != 32) {
    return Status::Corruption("node key: cannot derive the public key");
  }
  Impl* impl = new Impl{std::move(pkey)};
  return std::unique_ptr<NodeKey>(new NodeKey(impl, std::string(reinterpret_cast<char*>(pub), 32)));
}

Result<std::unique_ptr<NodeKey>> NodeKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::IoError("cannot generate an Ed25519 key");
  return FromPkey(pkey);
}

Result<std::unique_ptr<NodeKey>> NodeKey::Load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no node key at " + path);
    return Errno("open", path);
  }
  std::string pem;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Errno("read", path);
    }
    if (n == 0) break;
    pem.append(buf, static_cast<size_t>(n));
    if (pem.size() > 65536) break;
  }
  ::close(fd);
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // A passphrase callback that gives none: with OpenSSL's default one, an encrypted key made
  // `serve` (or `key show`) wait for a passphrase typed on the terminal.
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
                       : nullptr;
  const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
  OPENSSL_cleanse(pem.data(), pem.size());
  if (pkey == nullptr) {
    ERR_clear_error();
    if (encrypted) {
      return Status::Corruption(path + ": an encrypted private key: the node key must be unencrypted "
                                "(protect it with the file's mode, 0600, and the data dir's owner)");
    }
    return Status::Corruption(path + ": not a PEM private key");
  }
  auto key = FromPkey(pkey);
  if (!key.ok()) return Status::Corruption(path + ": " + key.status().message());
  return key;
}

Result<std::unique_ptr<NodeKey>> NodeKey::LoadOrCreate(const std::string& path) {
  auto loaded = Load(path);
  if (loaded.ok() || loaded.status().code() != StatusCode::kNotFound) return loaded;
  APITRAIL_ASSIGN_OR_RETURN(auto key, Generate());
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key->impl_->pkey.get(), nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    return Status::IoError("cannot encode the node key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(len));
  // Written whole under a temporary name, then renamed: a crash never leaves half a key.
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  Status st = WriteAllAndSync(fd, pem, tmp);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // link() refuses to replace a key another process created meanwhile; that one wins.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return Load(path);
    errno = err;
    return Errno("link", path);
  }
  ::unlink(tmp.c_str());
  APITRAIL_RETURN_IF_ERROR(SyncDirOf(path));
  return key;
}

Result<std::string> NodeKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t len = sizeof(sig);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != 64) {
    return Status::IoError("Ed25519 signing failed");
  }
  return std::string(reinterpret_cast<char*>(sig), 64);
}

bool VerifyEd25519(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), 32));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), 64,
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace apitrail
