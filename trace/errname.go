package trace

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// ErrName names an error as the traces do: the errno for system errors
// (ECONNRESET, ETIMEDOUT...), EOF, or the error's text.
func ErrName(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, io.EOF) {
		return "EOF"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n, ok := errnoNames[errno]; ok {
			return n
		}
		return fmt.Sprintf("errno %d", int(errno))
	}
	return err.Error()
}

var errnoNames = map[syscall.Errno]string{
	syscall.ECONNRESET: "ECONNRESET", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.EPIPE: "EPIPE", syscall.ENOTCONN: "ENOTCONN", syscall.EADDRINUSE: "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.ECONNABORTED: "ECONNABORTED", syscall.EHOSTUNREACH: "EHOSTUNREACH",
	syscall.ENETUNREACH: "ENETUNREACH", syscall.EACCES: "EACCES", syscall.EPROTO: "EPROTO",
	syscall.ENOPROTOOPT: "ENOPROTOOPT", syscall.EHOSTDOWN: "EHOSTDOWN", syscall.ENONET: "ENONET",
	syscall.EOPNOTSUPP: "EOPNOTSUPP", syscall.EMSGSIZE: "EMSGSIZE",
}
