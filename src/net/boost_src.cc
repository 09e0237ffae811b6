// Asio and Beast compiled once for the whole program (BOOST_*_SEPARATE_COMPILATION is set
// for every target in cmake/ApitrailHelpers.cmake), so each TU that uses them compiles faster.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
