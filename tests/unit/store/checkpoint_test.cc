// Signed checkpoints (C2SP signed-note): round trip, the node key file, wrong keys,
// tampered size/root/origin, malformed notes and verifier keys.
#include "store/checkpoint.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <string>

#include "store/node_key.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = NodeKey::Generate();
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key_ = std::move(k).value();
    cp_.origin = CheckpointOrigin("node-1");
    cp_.size = 1234;
    cp_.root = Sha256("root");
    auto note = SignCheckpoint(cp_, *key_);
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    note_ = *note;
    auto vk = ParseVerifierKey(VerifierKeyText(cp_.origin, key_->public_key()));
    ASSERT_TRUE(vk.ok()) << vk.status().ToString();
    vkey_ = *vk;
  }

  std::string Replace(std::string s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  }

  std::unique_ptr<NodeKey> key_;
  Checkpoint cp_;
  std::string note_;
  VerifierKey vkey_;
};

TEST_F(CheckpointTest, NoteHasTheC2spShape) {
  const std::string root_b64 = Base64Encode(std::string(cp_.root.begin(), cp_.root.end()));
  const std::string body = "apitrail/node-1\n1234\n" + root_b64 + "\n";
  EXPECT_EQ(CheckpointBody(cp_), body);
  ASSERT_EQ(note_.substr(0, body.size() + 1), body + "\n");
  const std::string sig_line = note_.substr(body.size() + 1);
  EXPECT_EQ(sig_line.rfind("\xE2\x80\x94 apitrail/node-1 ", 0), 0u) << sig_line;
  EXPECT_EQ(sig_line.back(), '\n');
  auto blob = Base64Decode(sig_line.substr(sig_line.rfind(' ') + 1, sig_line.size() - sig_line.rfind(' ') - 2));
  ASSERT_TRUE(blob.ok());
  ASSERT_EQ(blob->size(), 68u);  // 4-byte key hash + 64-byte Ed25519 signature
  // key hash = SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[0:4]
  const Hash256 h = Sha256("apitrail/node-1\n\x01" + key_->public_key());
  EXPECT_EQ(blob->substr(0, 4), std::string(h.begin(), h.begin() + 4));
  EXPECT_TRUE(VerifyEd25519(key_->public_key(), body, blob->substr(4)));
}

TEST_F(CheckpointTest, VerifierKeyTextIsNamePlusHashPlusKey) {
  const std::string text = VerifierKeyText(cp_.origin, key_->public_key());
  const Hash256 h = Sha256("apitrail/node-1\n\x01" + key_->public_key());
  EXPECT_EQ(text, "apitrail/node-1+" + HexEncode(h.data(), 4) + "+" +
                      Base64Encode("\x01" + key_->public_key()));
  EXPECT_EQ(vkey_.name, "apitrail/node-1");
  EXPECT_EQ(vkey_.public_key, key_->public_key());
}

TEST_F(CheckpointTest, RoundTrip) {
  auto got = VerifyCheckpointNote(note_, vkey_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->origin, cp_.origin);
  EXPECT_EQ(got->size, cp_.size);
  EXPECT_EQ(got->root, cp_.root);
  auto parsed = ParseCheckpointNote(note_);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size, 1234u);
}

TEST_F(CheckpointTest, EmptyTreeAndZeroSize) {
  Checkpoint empty{cp_.origin, 0, Sha256("")};
  auto note = SignCheckpoint(empty, *key_);
  ASSERT_TRUE(note.ok());
  auto got = VerifyCheckpointNote(*note, vkey_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size, 0u);
}

TEST_F(CheckpointTest, WrongKeyFails) {
  auto other = NodeKey::Generate();
  ASSERT_TRUE(other.ok());
  // Same name, other key: the key hash differs, so there is no signature by it.
  auto vk = ParseVerifierKey(VerifierKeyText(cp_.origin, (*other)->public_key()));
  ASSERT_TRUE(vk.ok());
  EXPECT_EQ(VerifyCheckpointNote(note_, *vk).status().code(), StatusCode::kPermissionDenied);
  // A forged note signed by the other key under our name and key hash does not verify.
  auto forged_note = SignCheckpoint(cp_, **other);
  ASSERT_TRUE(forged_note.ok());
  std::string forged = *forged_note;
  const size_t b64 = forged.rfind(' ') + 1;
  auto blob = Base64Decode(forged.substr(b64, forged.size() - b64 - 1));
  ASSERT_TRUE(blob.ok());
  const uint32_t h = vkey_.key_hash;
  std::string ours = {static_cast<char>(h >> 24), static_cast<char>(h >> 16), static_cast<char>(h >> 8),
                      static_cast<char>(h)};
  forged = forged.substr(0, b64) + Base64Encode(ours + blob->substr(4)) + "\n";
  auto r = VerifyCheckpointNote(forged, vkey_);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  // Another name entirely.
  auto vk2 = ParseVerifierKey(VerifierKeyText("apitrail/node-2", key_->public_key()));
  ASSERT_TRUE(vk2.ok());
  EXPECT_FALSE(VerifyCheckpointNote(note_, *vk2).ok());
}

TEST_F(CheckpointTest, TamperedSizeRootOrOriginFails) {
  EXPECT_EQ(VerifyCheckpointNote(Replace(note_, "\n1234\n", "\n1235\n"), vkey_).status().code(),
            StatusCode::kPermissionDenied);
  Hash256 other_root = cp_.root;
  other_root[0] ^= 1;
  const std::string root_b64 = Base64Encode(std::string(cp_.root.begin(), cp_.root.end()));
  const std::string other_b64 = Base64Encode(std::string(other_root.begin(), other_root.end()));
  EXPECT_EQ(VerifyCheckpointNote(Replace(note_, root_b64, other_b64), vkey_).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyCheckpointNote(Replace(note_, "apitrail/node-1\n", "apitrail/node-9\n"), vkey_)
                .status().code(),
            StatusCode::kPermissionDenied);
  // A signature byte flipped.
  std::string bad = note_;
  const size_t b64 = bad.rfind(' ') + 1;
  bad[b64 + 20] = bad[b64 + 20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyCheckpointNote(bad, vkey_).ok());
}

TEST_F(CheckpointTest, MalformedNotesAreRejected) {
  const std::string body = CheckpointBody(cp_);
  const std::string sig = note_.substr(body.size() + 1);
  const std::vector<std::string> bad = {
      "",
      body,                                            // no signatures
      body + "\n",                                     // empty signature block
      body + "\n" + sig.substr(0, sig.size() - 1),     // no final newline
      body + "\n" + sig.substr(4),                     // no em dash
      body + "\n- apitrail/node-1 AAAA\n",
      body + "\n\xE2\x80\x94 apitrail/node-1 !!!!\n",  // not base64
      body + "\n\xE2\x80\x94 apitrail/node-1 AAAA\n",  // too short
      "apitrail/node-1\n1234\n\n" + sig,               // missing root
      "apitrail/node-1\n01234\n" + body.substr(body.find('\n', 17) + 1) + "\n" + sig,  // leading zero
      "apitrail/node-1\n-1\n" + body.substr(body.find('\n', 17) + 1) + "\n" + sig,
      "apitrail/node-1\n99999999999999999999999\n" + body.substr(body.find('\n', 17) + 1) + "\n" + sig,
      "apitrail/node-1\n1234\nAAAA\n\n" + sig,         // root not 32 bytes
      body.substr(0, body.size() - 1) + "\r\n\n" + sig,  // control character
      "apitrail/node-1\n1234\n",
  };
  for (const auto& note : bad) {
    EXPECT_EQ(ParseCheckpointNote(note).status().code(), StatusCode::kInvalidArgument) << note;
    EXPECT_FALSE(VerifyCheckpointNote(note, vkey_).ok()) << note;
  }
  // Unknown extra signatures are ignored.
  const std::string extra = note_ + "\xE2\x80\x94 witness.example " + Base64Encode(std::string(68, 'w')) + "\n";
  EXPECT_TRUE(VerifyCheckpointNote(extra, vkey_).ok());
}

TEST_F(CheckpointTest, MalformedVerifierKeys) {
  const std::string good = VerifierKeyText(cp_.origin, key_->public_key());
  const size_t p1 = good.find('+');
  for (const std::string& text :
       {std::string(""), std::string("name"), std::string("name+abc"), "+" + good.substr(p1 + 1),
        good.substr(0, p1) + "+0000000+" + good.substr(good.rfind('+') + 1),
        good.substr(0, p1) + "+00000000+" + good.substr(good.rfind('+') + 1),  // wrong hash
        good.substr(0, good.rfind('+') + 1) + Base64Encode("\x02" + key_->public_key()),
        good.substr(0, good.rfind('+') + 1) + "***", "has space+" + good.substr(p1 + 1)}) {
    EXPECT_FALSE(ParseVerifierKey(text).ok()) << text;
  }
  EXPECT_FALSE(ValidateKeyName("a+b").ok());
  EXPECT_FALSE(ValidateKeyName("a b").ok());
  EXPECT_TRUE(ValidateKeyName("apitrail/node-1").ok());
}

TEST(NodeKeyTest, CreatedOnceWithMode0600AndReloaded) {
  testing::TempDir dir;
  const std::string path = dir.File("node.key");
  EXPECT_EQ(NodeKey::Load(path).status().code(), StatusCode::kNotFound);
  auto a = NodeKey::LoadOrCreate(path);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::ReadFileBytes(path).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto b = NodeKey::LoadOrCreate(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)->public_key(), (*b)->public_key());
  auto c = NodeKey::Load(path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->public_key(), (*a)->public_key());
  auto sig = (*c)->Sign("hello");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(VerifyEd25519((*a)->public_key(), "hello", *sig));
  EXPECT_FALSE(VerifyEd25519((*a)->public_key(), "hellO", *sig));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(NodeKeyTest, GarbageKeyFileIsCorruption) {
  testing::TempDir dir;
  const std::string path = dir.Write("node.key", "not a key\n");
  EXPECT_EQ(NodeKey::Load(path).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(NodeKey::LoadOrCreate(path).status().code(), StatusCode::kCorruption);
}

TEST(NodeKeyTest, EncryptedKeyFileIsRefusedWithoutAPrompt) {
  // OpenSSL's default passphrase callback read one from the terminal: serve waited there.
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  const std::string pass = "passphrase";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, pkey, EVP_aes_256_cbc(),
                                     reinterpret_cast<const unsigned char*>(pass.data()),
                                     static_cast<int>(pass.size()), nullptr, nullptr),
            1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  ASSERT_NE(pem.find("ENCRYPTED"), std::string::npos);
  testing::TempDir dir;
  const std::string path = dir.Write("node.key", pem);
  auto loaded = NodeKey::Load(path);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_NE(loaded.status().message().find("an encrypted private key"), std::string::npos)
      << loaded.status().message();
  EXPECT_EQ(NodeKey::LoadOrCreate(path).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(testing::ReadFileBytes(path), pem);  // left as it was
}

}  // namespace
}  // namespace apitrail
