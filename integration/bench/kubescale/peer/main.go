// Command peer is kubescale's peer: what a typical controller holds for the Services,
// EndpointSlices and HTTPRoutes of one namespace. It runs client-go's shared informer
// factory and gateway-api's generated one, with no transform and event handlers that do
// nothing, prints "synced" and the counts once cache.WaitForCacheSync returns, and then
// idles until SIGTERM or SIGINT.
//
//	peer -kubeconfig <path> -namespace <ns>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "", "namespace to watch")
	flag.Parse()
	if err := run(*kubeconfig, *namespace); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	core := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))
	gateway := gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0, gatewayinformers.WithNamespace(namespace))
	infs := []cache.SharedIndexInformer{
		core.Core().V1().Services().Informer(),
		core.Discovery().V1().EndpointSlices().Informer(),
		gateway.Gateway().V1().HTTPRoutes().Informer(),
	}
	noop := cache.ResourceEventHandlerFuncs{AddFunc: func(any) {}, UpdateFunc: func(_, _ any) {}, DeleteFunc: func(any) {}}
	var synced []cache.InformerSynced
	for _, inf := range infs {
		reg, err := inf.AddEventHandler(noop)
		if err != nil {
			return err
		}
		synced = append(synced, reg.HasSynced)
	}
	core.Start(ctx.Done())
	gateway.Start(ctx.Done())
	defer core.Shutdown()
	defer gateway.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	fmt.Printf("synced services=%d endpointslices=%d httproutes=%d\n",
		len(infs[0].GetStore().ListKeys()), len(infs[1].GetStore().ListKeys()), len(infs[2].GetStore().ListKeys()))
	<-ctx.Done()
	return nil
}
