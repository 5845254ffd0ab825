"""The fixed answer both HTTP responders send, and the marker that ends a request's head."""

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
END = b"\r\n\r\n"
