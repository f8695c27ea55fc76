package model_test

import (
	"context"
	"fmt"

	"github.com/faultline/faultline/internal/model"
)

func Example() {
	// Learn y = 2a - b from four samples.
	train := model.Dataset[float32]{
		X: []float32{0, 0, 1, 0, 0, 1, 1, 1},
		Y: []float32{0, 2, -1, 1},
	}
	net, _ := model.New[float32](2, []model.Layer{{Size: 1, Act: model.Linear}}, 1)
	cfg := model.TrainConfig[float32]{Epochs: 500, BatchSize: 4, Schedule: model.ConstantLR(0.05)}
	if _, err := model.Train(context.Background(), net, train, model.Dataset[float32]{}, cfg, nil); err != nil {
		panic(err)
	}
	p := net.NewPredictor()
	y := p.Predict([]float32{2, 1}, nil)
	fmt.Printf("%.2f\n", y[0])
	// Output: 3.00
}
