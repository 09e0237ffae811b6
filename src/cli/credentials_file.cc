#include "cli/credentials_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/json_writer.h"

namespace apitrail {

std::string DemoCredentialsPath(const std::string& data_dir) { return data_dir + "/demo-credentials.json"; }

Result<DemoCredentials> ReadDemoCredentials(const std::string& data_dir) {
  std::string path = DemoCredentialsPath(data_dir);
  std::ifstream in(path);
  if (!in) return Status::NotFound("no " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(ss.str(), ec);
  if (ec || !v.is_object()) return Status::Corruption(path + ": not a JSON object");
  const auto& o = v.get_object();
  DemoCredentials c;
  if (auto* k = o.if_contains("api_key"); k && k->is_string()) c.api_key = std::string(k->get_string());
  if (auto* t = o.if_contains("admin_token"); t && t->is_string()) c.admin_token = std::string(t->get_string());
  if (c.api_key.empty() || c.admin_token.empty()) return Status::Corruption(path + ": api_key or admin_token missing");
  return c;
}

Status WriteDemoCredentials(const std::string& data_dir, const DemoCredentials& c) {
  std::string path = DemoCredentialsPath(data_dir);
  std::string tmp = path + ".tmp";
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Field("api_key", c.api_key);
  w.Field("admin_token", c.admin_token);
  w.EndObject();
  body.push_back('\n');
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot write " + tmp);
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError("cannot write " + path);
  return Status::Ok();
}

}  // namespace apitrail
