package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/cluster"
)

// joinCluster connects to NATS and makes hub a node of the cluster's
// events. check is the readiness of the connection; leave ends it, after
// what the hub still publishes has gone out.
func joinCluster(ctx context.Context, url string, hub *bridge.Hub, log *slog.Logger) (check func(context.Context) error, leave func(), err error) {
	host, _ := os.Hostname()
	node := host + "/" + strconv.Itoa(os.Getpid())
	nc, err := cluster.Connect(url, node, log)
	if err != nil {
		return nil, nil, err
	}
	events, err := cluster.NewEvents(ctx, nc, cluster.EventsConfig{Log: log})
	if err == nil {
		err = events.Join(ctx, hub)
	}
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	check = func(context.Context) error {
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("nats: %s", st)
		}
		return nil
	}
	leave = func() {
		events.Stop()
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("nats: drain", slog.Any("err", err))
		}
	}
	log.Info("cluster: joined", slog.String("node", node), slog.String("events", events.Epoch()))
	return check, leave, nil
}
