package remote_test

import (
	"context"
	"fmt"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/registry"
	"github.com/eventsync/eventsync/remote"
)

type Account struct {
	ID    int    `json:"id"`
	Owner string `json:"owner"`
}

type accounts struct{}

func (accounts) Get(ctx context.Context, id int, p eventsync.Params) (Account, error) {
	if id != 7 {
		return Account{}, eventsync.NotFound(fmt.Sprintf("no account %d", id))
	}
	return Account{ID: 7, Owner: "ada"}, nil
}

// Two apps on one broker: "billing" holds accounts, "shop" calls them
// through a typed proxy, as if the service were its own.
func Example() {
	ctx := context.Background()
	join := func(name string, app *eventsync.App) (*registry.Registry, *remote.Remote) {
		reg, err := registry.Join(registry.Options{URI: "mem://example", Key: "apps", App: name, From: app})
		if err != nil {
			panic(err)
		}
		r, err := remote.New(app, remote.Options{Registry: reg, URI: "mem://example", Key: "apps"})
		if err != nil {
			panic(err)
		}
		return reg, r
	}
	billing := eventsync.NewApp()
	eventsync.Use(billing, "accounts", accounts{})
	breg, bremote := join("billing", billing)
	defer breg.Close(ctx)
	defer bremote.Close(ctx)

	shop := eventsync.NewApp()
	sreg, sremote := join("shop", shop)
	defer sreg.Close(ctx)
	defer sremote.Close(ctx)
	svc, err := remote.Use[Account](sremote, "accounts")
	if err != nil {
		panic(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sreg.WaitPath(wctx, "accounts")

	acct, err := svc.Get(ctx, 7, nil)
	fmt.Println(acct.(Account).Owner, err)
	_, err = svc.Get(ctx, 8, nil)
	fmt.Println(err)
	// Output:
	// ada <nil>
	// NotFound: no account 8
}
