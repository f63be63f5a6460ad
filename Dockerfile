# syntax=docker/dockerfile:1
# Build: a static binary, no cgo (SQLite is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/widget-server ./cmd/widget-server \
 && mkdir -p /out/data

# Run: distroless, non-root, the data dir on a volume.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/widget-server /widget-server
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV WIDGET_DATA_DIR=/data \
    WIDGET_LISTEN=:8080 \
    WIDGET_DEMO_LISTEN=
VOLUME ["/data"]
# 8080: widget and API over HTTP (put TLS in front). 50000/udp: call audio
# (WIDGET_MEDIA_PORT; set WIDGET_PUBLIC_IP behind NAT). 8081: the demo page, when
# WIDGET_DEMO_LISTEN=:8081 turns it on (with an https WIDGET_DEMO_URL, or WIDGET_DEV=true).
EXPOSE 8080 8081 50000/udp
USER nonroot:nonroot
ENTRYPOINT ["/widget-server"]
