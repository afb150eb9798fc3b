# shardgate: a static binary on a distroless base, running as a non-root user.
#   docker build -t shardgate .
#   docker run --network host -v $PWD/testdata/rules.example.yaml:/etc/shardgate/rules.yaml:ro shardgate
# The rules file is read from /etc/shardgate/rules.yaml; MySQL clients on
# port 3307, /metrics on the rules' admin_listen (e.g. 9307).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/shardgate ./cmd/shardgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/shardgate /usr/local/bin/shardgate
USER nonroot:nonroot
EXPOSE 3307 9307
ENTRYPOINT ["/usr/local/bin/shardgate", "--rules", "/etc/shardgate/rules.yaml"]
