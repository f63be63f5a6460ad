package e2e

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// networkGetCookies returns the browser's cookies for a URL, partitioned
// ones included.
func networkGetCookies(ctx context.Context, tg *chromedp.Target, u string) ([]*network.Cookie, error) {
	res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		return nil, err
	}
	return res.Cookies, nil
}
