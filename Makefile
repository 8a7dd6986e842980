# Entry points for users and CI. `make lab` deploys the cluster onto a
# throwaway 3-host lab on this machine; `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_DIR := .lab
LAB_NAME ?= gpu-spark-lab
LAB_INVENTORY := $(LAB_DIR)/inventory.yml
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export LAB_DIR
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv engine images lab lab-down test lint sanity unit molecule build clean

help:
	@echo "make lab       deploy a Spark GPU cluster onto a 3-host throwaway lab on this machine"
	@echo "make lab-down  remove the lab hosts, their volumes and network"
	@echo "make test      run lint, sanity, unit tests and every molecule scenario"
	@echo "make build     build the collection artefact"

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

engine:
	$(BIN)/python tests/lab/ensure_docker.py

images: venv engine
	$(BIN)/python tests/lab/lab.py image
	$(BIN)/python tests/lab/spark_image.py

lab: images
	$(BIN)/python tests/lab/lab.py up --lab $(LAB_NAME) --count 3 --inventory $(LAB_INVENTORY)
	$(BIN)/python tests/lab/run_lab.py --inventory $(LAB_INVENTORY) --lab-name $(LAB_NAME)

lab-down: venv
	$(BIN)/python tests/lab/lab.py down --lab $(LAB_NAME)

lint: venv
	$(BIN)/ansible-lint --offline
	$(BIN)/python tests/check_argument_specs.py

sanity: venv
	$(BIN)/python tests/run_sanity.py

unit: venv
	$(BIN)/python -m pytest tests/unit bench/tests

molecule: images
	$(BIN)/python tests/run_molecule.py

test: venv engine
	$(MAKE) lint
	$(MAKE) sanity
	$(MAKE) unit
	$(MAKE) molecule

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(LAB_DIR)/dist .

clean: lab-down
	rm -rf $(LAB_DIR)
