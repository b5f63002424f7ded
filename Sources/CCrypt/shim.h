// libcrypt (libxcrypt on Debian), for checking the Admin UI's bcrypt password hashes with crypt_r.
#include <crypt.h>
#include <unistd.h>
