// Bit streams for the version 5 part index (docs/FORMAT.md §16.3): fixed-width fields, unary,
// Rice and Elias-gamma codes, least significant bit first (bit i of the stream is bit i % 8
// of byte i / 8), zero-padded to a whole byte. BitWriter builds one stream; BitReader reads
// a range of one and reports running past its end instead of reading past it.
// Both are plain values for one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace apitrail::part {

// Bits needed to write any value <= max (0 for 0).
inline int BitWidth(uint64_t max) { return max == 0 ? 0 : 64 - __builtin_clzll(max); }

class BitWriter {
 public:
  // The low `n` bits of v (n <= 64; higher bits of v must be 0).
  void Put(uint64_t v, int n) {
    if (n == 0) return;
    acc_ |= v << used_;
    if (used_ + n >= 64) {
      Flush64();
      acc_ = used_ == 0 ? 0 : v >> (64 - used_);
      used_ = used_ + n - 64;
    } else {
      used_ += n;
    }
    bits_ += static_cast<uint64_t>(n);
  }
  // q ones, then a zero.
  void PutUnary(uint64_t q) {
    for (; q >= 32; q -= 32) Put(0xffffffffu, 32);
    Put((uint64_t{1} << q) - 1, static_cast<int>(q) + 1);
  }
  // v >= 1: the bit length minus one in unary, then v's bits below its top one.
  void PutGamma(uint64_t v) {
    const int n = BitWidth(v) - 1;
    PutUnary(static_cast<uint64_t>(n));
    Put(v & ((uint64_t{1} << n) - 1), n);
  }
  uint64_t bits() const { return bits_; }
  // The stream, its last byte padded with zero bits.
  std::string Finish() {
    std::string out = std::move(out_);
    for (int i = 0; i < used_; i += 8) out.push_back(static_cast<char>(acc_ >> i));
    *this = BitWriter();
    return out;
  }

 private:
  void Flush64() {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(acc_ >> (8 * i));
    out_.append(b, 8);
  }
  std::string out_;
  uint64_t acc_ = 0;
  int used_ = 0;  // bits of acc_ in use
  uint64_t bits_ = 0;
};

class BitReader {
 public:
  // Reads bits [begin_bit, end_bit) of `data`.
  BitReader(std::string_view data, uint64_t begin_bit, uint64_t end_bit)
      : data_(data), pos_(begin_bit), end_(end_bit) {}

  // Up to 57 bits; false (and nothing read) past the end.
  bool Get(int n, uint64_t* v) {
    if (n == 0) {
      *v = 0;
      return true;
    }
    if (end_ - pos_ < static_cast<uint64_t>(n)) return false;
    *v = Window() & ((uint64_t{1} << n) - 1);
    pos_ += static_cast<uint64_t>(n);
    return true;
  }
  // Counts ones up to the next zero (consumed); false past the end or after `max` ones.
  bool GetUnary(uint64_t max, uint64_t* q) {
    uint64_t n = 0;
    for (;;) {
      const uint64_t left = end_ - pos_;
      if (left == 0) return false;
      const int avail = left < 57 ? static_cast<int>(left) : 57;
      // The first zero bit, or `avail` when the `avail` bits there are all ones.
      const int ones = __builtin_ctzll(~Window() | uint64_t{1} << avail);
      if (ones < avail) {
        n += static_cast<uint64_t>(ones);
        if (n > max) return false;
        pos_ += static_cast<uint64_t>(ones) + 1;
        *q = n;
        return true;
      }
      n += static_cast<uint64_t>(avail);
      if (n > max) return false;
      pos_ += static_cast<uint64_t>(avail);
    }
  }
  // A PutGamma value (below 2^57).
  bool GetGamma(uint64_t* v) {
    uint64_t n = 0;
    if (!GetUnary(56, &n)) return false;
    uint64_t low = 0;
    if (!Get(static_cast<int>(n), &low)) return false;
    *v = uint64_t{1} << n | low;
    return true;
  }
  uint64_t pos() const { return pos_; }
  uint64_t end() const { return end_; }

 private:
  // The 57+ bits from pos_ (zeros past the data), low bit first.
  uint64_t Window() const {
    const uint64_t byte = pos_ / 8;
    uint64_t w = 0;
    if (byte + 8 <= data_.size()) {
      std::memcpy(&w, data_.data() + byte, 8);  // the index is written little endian
    } else {
      for (uint64_t i = byte; i < data_.size(); ++i) w |= static_cast<uint64_t>(static_cast<uint8_t>(data_[i])) << (8 * (i - byte));
    }
    return w >> (pos_ % 8);
  }

  std::string_view data_;
  uint64_t pos_;
  uint64_t end_;
};

}  // namespace apitrail::part
